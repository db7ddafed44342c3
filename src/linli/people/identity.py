"""ID numbers and phones: validate, normalise, mask, seal and hash."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent
from stdnum.exceptions import ValidationError as StdnumError

from linli.core import crypto, errors
from linli.people.choices import IdType, Sex

ID_PURPOSE = "person.id_number"
PHONE_PURPOSE = "person.phone"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True)
class ResidentId:
    """A validated GB 11643 resident ID number and what it tells."""

    number: str
    birth_date: dt.date
    sex: str


def _has_date(number: str) -> bool:
    """Say whether digits 7-14 of an ID number form a calendar date (stdnum reports an
    impossible date and an unknown region with the same exception)."""
    try:
        ric.get_birth_date(number)
    except StdnumError:
        return False
    return True


def parse_resident_id(raw: str) -> ResidentId:
    """Validate an 18-digit resident ID (checksum, birth date); raise ``ValidationFailed``."""
    number = ric.compact(raw or "")
    if len(number) != 18:
        raise errors.ValidationFailed(
            details={"id_number": [_("居民身份证号码应为 18 位。")]}, code="id_number_length"
        )
    try:
        ric.validate(number)
    except StdnumError as exc:
        reason = str(exc).lower()
        if "checksum" in reason:
            message, code = _("身份证号码校验位错误。"), "id_number_checksum"
        elif isinstance(exc, InvalidComponent) and _has_date(number):
            message, code = _("身份证号码中的地区码无效。"), "id_number_region"
        elif isinstance(exc, InvalidComponent) or "date" in reason:
            message, code = _("身份证号码中的出生日期无效。"), "id_number_birth_date"
        else:
            message, code = _("身份证号码格式错误。"), "id_number_format"
        raise errors.ValidationFailed(details={"id_number": [message]}, code=code) from exc
    birth = ric.get_birth_date(number)
    if birth > dt.date.today() or birth.year < 1900:  # noqa: DTZ011 (a calendar date)
        raise errors.ValidationFailed(
            details={"id_number": [_("身份证号码中的出生日期不合理。")]},
            code="id_number_birth_date",
        )
    sex = Sex.MALE if int(number[16]) % 2 else Sex.FEMALE
    return ResidentId(number=number, birth_date=birth, sex=sex)


def normalise_id(id_type: str, raw: str) -> str:
    """Return the canonical form of an ID number of ``id_type`` (upper case, no spaces)."""
    if id_type == IdType.RESIDENT_ID:
        return parse_resident_id(raw).number
    value = re.sub(r"\s+", "", raw or "").upper()
    if not 5 <= len(value) <= 30:
        raise errors.ValidationFailed(details={"id_number": [_("证件号码长度应为 5 到 30 位。")]})
    return value


def normalise_phone(raw: str) -> str:
    """Return a mainland mobile number without separators or +86, or raise."""
    value = re.sub(r"[\s-]", "", raw or "")
    value = value.removeprefix("+86").removeprefix("0086")
    if not _MOBILE.match(value):
        raise errors.ValidationFailed(details={"phone": [_("手机号码格式错误。")]})
    return value


def mask_id(number: str) -> str:
    """Mask an ID number as ``1101**********1234``."""
    if len(number) <= 8:
        return number[:1] + "*" * (len(number) - 2) + number[-1:]
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str) -> str:
    """Mask a phone number as ``138****5678``."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def seal_id(id_type: str, number: str) -> tuple[str, str, str]:
    """Return ``(sealed, lookup_hash, masked)`` of a normalised ID number."""
    return (
        crypto.seal(number, ID_PURPOSE),
        crypto.lookup_hash(f"{id_type}:{number}", ID_PURPOSE),
        mask_id(number),
    )


def seal_phone(phone: str) -> tuple[str, str, str]:
    """Return ``(sealed, lookup_hash, masked)`` of a normalised phone number."""
    return (
        crypto.seal(phone, PHONE_PURPOSE),
        crypto.lookup_hash(phone, PHONE_PURPOSE),
        mask_phone(phone),
    )

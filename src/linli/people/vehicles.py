"""Chinese motor-vehicle licence plates (机动车号牌): normalise and parse.

The layout follows GA 36-2018 《中华人民共和国机动车号牌》 and the Ministry of Public
Security's 2021 extension of the small new-energy serials. What :func:`parse_plate` accepts:

* Province (省份简称): one of the 31 mainland abbreviations in :data:`PROVINCES`.
* Issuing authority (发牌机关代号): one letter A–Z except I and O.
* Serial (序号) characters: digits and the letters A–Z except I and O, which plates never
  use so that they are not mistaken for 1 and 0. A typed I or O is refused with its own
  error code rather than silently turned into a digit.
* ``ordinary`` (普通号牌, 7 characters): province, authority, then 5 serial characters,
  e.g. 京A12345, 沪AB1C23. How many letters a province mixes into the serial, and which
  authority letters it uses, vary by place and are not checked.
* ``new_energy`` (新能源汽车号牌, 8 characters): province, authority, then 6 characters:

  - small vehicles (小型): the first is an energy letter, the second a letter or digit, the
    last four digits, e.g. 京AD12345, 粤BF1A234. GA 36-2018 used D (纯电动, battery
    electric) and F (非纯电动, other new energy); from 2021 battery electric may also use
    A B C E and other new energy G H J K, so the first may be any of A–K except I;
  - large vehicles (大型): five digits then D or F (the 2021 extension does not apply),
    e.g. 京A12345D.

* ``special`` (专用号牌):

  - 警 (police), 学 (driving-school car), 挂 (trailer), 领 (consulate): province,
    authority, 4 serial characters, then the character, e.g. 京A1234警, 沪A1234领;
  - 港 / 澳 (cross-border vehicles of Hong Kong / Macao): only after 粤Z, e.g. 粤Z1234港;
  - 使 (embassy): 使 first, then 6 digits (3 for the mission, 3 for the vehicle),
    e.g. 使014578; these carry no province or authority.

Refused: military and armed-police plates (not issued under GA 36), and the rarer
suffixes 试 (test), 超 (oversize) and 应急 (emergency), until someone needs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from django.utils.translation import gettext as _

from linli.core import errors

PlateKind = Literal["ordinary", "new_energy", "special"]

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
AUTHORITY_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
SERIAL_CHARACTERS = "0123456789" + AUTHORITY_LETTERS
SPECIAL_SUFFIXES = "警学挂领港澳"
EMBASSY = "使"

_SERIAL = "[0-9A-HJ-NP-Z]"
_ORDINARY = re.compile(f"{_SERIAL}{{5}}")
_SMALL_NEW_ENERGY = re.compile(f"[A-HJK]{_SERIAL}[0-9]{{4}}")
_LARGE_NEW_ENERGY = re.compile("[0-9]{5}[DF]")
_SPECIAL_SERIAL = re.compile(f"{_SERIAL}{{4}}")
_EMBASSY_SERIAL = re.compile("[0-9]{6}")

# Full-width ASCII (U+FF01-U+FF5E) and the ideographic space, to their half-width forms.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# What people put between the parts of a plate: the plate's own middle dot and its
# look-alikes, full stops, and hyphens and dashes.
_SEPARATORS = re.compile(r"[\s.·•‧・。\-‐‑‒–—]+")


class InvalidPlate(errors.ValidationFailed, ValueError):
    """Text that is not a licence plate number; ``code`` says which rule it breaks."""

    code = "plate_format"

    def __init__(self, message: Any, *, code: str) -> None:
        super().__init__(message, code=code, details={"plate": [message]})


@dataclass(frozen=True)
class Plate:
    """A parsed licence plate number."""

    number: str  # normalised, without separators: 京A12345
    province: str | None  # 省份简称; None for embassy plates
    authority: str | None  # 发牌机关代号; None for embassy plates
    kind: PlateKind
    special: str = ""  # 警 学 挂 领 港 澳 使 on special plates, else ""

    @property
    def display(self) -> str:
        """Return the number as printed, with a dot after the authority: 京A·12345."""
        if self.province is None:
            return self.number
        return f"{self.number[:2]}·{self.number[2:]}"


def normalise_plate(text: str) -> str:
    """Return ``text`` half-width, upper case, without spaces, dots or hyphens."""
    return _SEPARATORS.sub("", (text or "").translate(_HALF_WIDTH)).upper()


def _invalid(code: str) -> InvalidPlate:
    """Return the error for a plate breaking the rule named by ``code``."""
    messages = {
        "plate_format": _("车牌号码格式错误。"),
        "plate_province": _("车牌号码应以省份简称开头。"),
        "plate_authority": _("车牌号码第二位应为发牌机关代号（字母）。"),
        "plate_letter_i_o": _("车牌号码不使用字母 I 和 O，请检查是否应为数字 1 或 0。"),
        "plate_new_energy": _("新能源车牌号码格式错误。"),
        "plate_hk_macao": _("港澳车牌号码应以“粤Z”开头。"),
    }
    return InvalidPlate(messages[code], code=code)


def parse_plate(text: str) -> Plate:
    """Return the plate ``text`` names, or raise :class:`InvalidPlate`."""
    number = normalise_plate(text)
    if number.startswith(EMBASSY):
        if not _EMBASSY_SERIAL.fullmatch(number[1:]):
            raise _invalid("plate_format")
        return Plate(number, None, None, "special", EMBASSY)
    if not number:
        raise _invalid("plate_format")
    if number[0] not in PROVINCES:
        raise _invalid("plate_province")
    province, authority, rest = number[0], number[1:2], number[2:]
    if authority in ("I", "O") or any(c in "IO" for c in rest):
        raise _invalid("plate_letter_i_o")
    if not authority or authority not in AUTHORITY_LETTERS:
        raise _invalid("plate_authority")
    if rest[-1:] and rest[-1] in SPECIAL_SUFFIXES:
        suffix = rest[-1]
        if not _SPECIAL_SERIAL.fullmatch(rest[:-1]):
            raise _invalid("plate_format")
        if suffix in "港澳" and number[:2] != "粤Z":
            raise _invalid("plate_hk_macao")
        return Plate(number, province, authority, "special", suffix)
    if _ORDINARY.fullmatch(rest):
        return Plate(number, province, authority, "ordinary")
    if _SMALL_NEW_ENERGY.fullmatch(rest) or _LARGE_NEW_ENERGY.fullmatch(rest):
        return Plate(number, province, authority, "new_energy")
    if len(rest) == 6 and all(c in SERIAL_CHARACTERS for c in rest):
        raise _invalid("plate_new_energy")
    raise _invalid("plate_format")

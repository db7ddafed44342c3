"""Excel import and export of residents (住户导入导出), on :mod:`linli.core.tabular`.

A row names a person (by ID number) and the room they live in. Importing a row registers
the person, or links the person another community registered, updates a changed name,
phone, ethnicity or nationality, and starts the residency unless it is already running.
Every write goes through the people actions, so each leaves its audit row and population
change (source ``import``). Re-importing the same file writes nothing.

Rooms must exist (import them first): a row naming an unknown room is reported in the
validation pass, with every other problem of the file, before anything is written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from linli.core import audit, crypto, jobs
from linli.core.tabular import (
    CellError,
    Column,
    ImportAborted,
    ImportResult,
    Kind,
    Mode,
    Outcome,
    Row,
    RowError,
    Sheet,
    Source,
    run_import,
    write_xlsx,
)
from linli.core.tenancy import Actor
from linli.people import actions, codes, identity
from linli.people.choices import (
    ChangeSource,
    IdType,
    Kinship,
    RegistrationCategory,
    Relation,
    Sex,
)
from linli.people.models import Membership, Person, Residency
from linli.places.models import Community, Room

RoomKey = tuple[str, str, str]
ID_COLUMNS = ("id_number", "phone")
"""Columns whose values are personal data: masked in stored reports and in exports."""


def _labels(choices: Any, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Map every accepted spelling of a choice (code, Chinese and English label) to its code."""
    names: dict[str, str] = {}
    for member in choices:
        names[member.value.casefold()] = member.value
        for language in ("zh-hans", "en"):
            with translation.override(language):
                names[str(member.label).casefold()] = member.value
    for name, value in (extra or {}).items():
        names[name.casefold()] = value
    return names


@functools.cache
def _id_types() -> dict[str, str]:
    return _labels(IdType, {"身份证": IdType.RESIDENT_ID, "居民身份证号码": IdType.RESIDENT_ID})


@functools.cache
def _relations() -> dict[str, str]:
    return _labels(Relation, {"房主": Relation.OWNER, "产权人": Relation.OWNER})


@functools.cache
def _categories() -> dict[str, str]:
    return _labels(RegistrationCategory, {"户籍人口": "registered", "流动人口": "floating"})


@functools.cache
def _kinships() -> dict[str, str]:
    # GB/T 4761: 01 本人 and 02 户主 both mean the head here; finer codes (11 夫, 21 独生子 …)
    # fold into their group, as Kinship's docstring says.
    extra = {"01": Kinship.HEAD, "本人": Kinship.HEAD}
    extra |= {"夫": Kinship.SPOUSE, "妻": Kinship.SPOUSE, "儿子": Kinship.SON}
    extra |= {"女儿": Kinship.DAUGHTER, "父亲": Kinship.PARENT, "母亲": Kinship.PARENT}
    return _labels(Kinship, extra)


def _choice(names: Callable[[], dict[str, str]], message: Any, code: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if not value:
            return ""
        found = names().get(value.strip().casefold())
        if found is None and value.isdigit() and len(value) == 2:
            found = names().get(value[0] + "0")  # a finer GB/T 4761 code
        if found is None:
            raise CellError(message, code)
        return found

    return parse


parse_id_type = _choice(
    _id_types,
    _("未知的证件类型，可填：居民身份证、护照、港澳居民来往内地通行证等。"),
    "unknown_id_type",
)
parse_relation = _choice(
    _relations, _("未知的居住关系，可填：业主、家庭成员、租户、其他。"), "unknown_relation"
)
parse_category = _choice(
    _categories, _("未知的户籍类别，可填：户籍、常住、流动、境外。"), "unknown_category"
)
parse_kinship = _choice(
    _kinships,
    _("未知的与户主关系，可填：户主、配偶、子、女、父母等，或 GB/T 4761 代码。"),
    "unknown_kinship",
)


def parse_ethnicity(value: str) -> str:
    """Accept an ethnic group by code or name; blank stays blank."""
    return codes.parse_ethnicity(value).value if value else ""


def parse_country(value: str) -> str:
    """Accept a country by code or name; blank stays blank (China when registering)."""
    return codes.parse_country(value) if value else ""


def parse_sex(value: str) -> str:
    """Accept a sex by code or word; blank stays blank."""
    return codes.parse_sex(value).value if value else ""


def parse_phone(value: str) -> str:
    """Accept a mainland mobile number; blank stays blank."""
    return identity.normalise_phone(value) if value else ""


def parse_date_from(value: dt.date) -> dt.date:
    """Accept a move-in date from 1900 up to today."""
    if value > timezone.localdate() or value.year < 1900:
        raise CellError(_("入住日期应在 1900 年到今天之间。"), "date_out_of_range")
    return value


def _compact_id(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def _id_type_of(values: Mapping[str, Any]) -> str:
    return str(values["id_type"] or IdType.RESIDENT_ID)


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value else ""


RESIDENT_COLUMNS = (
    Column("name", _("姓名"), "Name", required=True, max_length=100),
    Column(
        "id_type",
        _("证件类型"),
        "ID type",
        parse=parse_id_type,
        hint=_("空白即居民身份证"),
        to_cell=lambda v: _label(IdType, v),
    ),
    Column(
        "id_number",
        _("证件号码"),
        "ID number",
        required=True,
        max_length=40,
        hint=_("请设为文本格式；居民身份证会校验出生日期和校验位"),
    ),
    Column(
        "sex",
        _("性别"),
        "Sex",
        parse=parse_sex,
        hint=_("可不填；填写时须与身份证号码一致"),
        to_cell=lambda v: _label(Sex, v),
    ),
    Column(
        "ethnicity",
        _("民族"),
        "Ethnicity",
        parse=parse_ethnicity,
        numbers_as_text=True,
        hint=_("如 汉族、回族，或 GB/T 3304 代码"),
        to_cell=lambda v: codes.ethnicity_label(v) if v else "",
    ),
    Column(
        "nationality",
        _("国籍"),
        "Nationality",
        parse=parse_country,
        numbers_as_text=True,
        hint=_("空白即中国"),
        to_cell=lambda v: codes.country_name(v) if v else "",
    ),
    Column(
        "phone", _("手机号码"), "Mobile", max_length=20, parse=parse_phone, numbers_as_text=True
    ),
    Column("building", _("楼号"), "Building", required=True, max_length=20, numbers_as_text=True),
    Column("unit", _("单元号"), "Unit", required=True, max_length=20, numbers_as_text=True),
    Column("room", _("房号"), "Room", required=True, max_length=20, numbers_as_text=True),
    Column(
        "relation",
        _("居住关系"),
        "Relation",
        required=True,
        parse=parse_relation,
        hint=_("业主、家庭成员、租户或其他"),
        to_cell=lambda v: _label(Relation, v),
    ),
    Column(
        "kinship",
        _("与户主关系"),
        "Relation to head",
        parse=parse_kinship,
        numbers_as_text=True,
        hint=_("户主、配偶、子、女、父母……；同一房屋请把户主写在前面"),
        to_cell=lambda v: _label(Kinship, v),
    ),
    Column(
        "category",
        _("户籍类别"),
        "Registration",
        parse=parse_category,
        hint=_("户籍、常住、流动或境外；空白即常住"),
        to_cell=lambda v: _label(RegistrationCategory, v),
    ),
    Column(
        "date_from", _("入住日期"), "Moved in", kind=Kind.DATE, required=True, parse=parse_date_from
    ),
)


def _row_key(values: Mapping[str, Any]) -> tuple[str, ...]:
    return (
        _id_type_of(values),
        _compact_id(values["id_number"]),
        values["building"],
        values["unit"],
        values["room"],
    )


class IdNumbers:
    """Normalise ID numbers once per import: the file is read twice and written once."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], tuple[str, str]] = {}

    def normalise(self, id_type: str, raw: str) -> tuple[str, str]:
        """Return the canonical number and the sex a resident ID encodes ("" otherwise)."""
        found = self._seen.get((id_type, raw))
        if found is None:
            if id_type == IdType.RESIDENT_ID:
                parsed = identity.parse_resident_id(raw)  # ValidationFailed on id_number
                found = (parsed.number, parsed.sex)
            else:
                found = (identity.normalise_id(id_type, raw), "")
            self._seen[(id_type, raw)] = found
        return found

    def check(self, values: Mapping[str, Any]) -> None:
        """Validate the ID number for its type, and the sex against a resident ID."""
        _number, sex = self.normalise(_id_type_of(values), values["id_number"])
        if sex and values["sex"] in (Sex.MALE, Sex.FEMALE) and values["sex"] != sex:
            raise CellError(_("性别与身份证号码不符。"), "sex_mismatch", column="sex")


def check_identity(values: Mapping[str, Any]) -> None:
    """Validate the ID number for its type, and the sex against a resident ID."""
    IdNumbers().check(values)


RESIDENT_SHEET = Sheet(
    name=_("住户"),
    name_en="Residents",
    columns=RESIDENT_COLUMNS,
    key=_row_key,
    key_columns=("id_number", "building", "unit", "room"),
    check=check_identity,
)


def sheet_for(rooms: Mapping[RoomKey, Room], ids: IdNumbers) -> Sheet:
    """Return the resident sheet that also refuses rooms the community does not have."""

    def check(values: Mapping[str, Any]) -> None:
        ids.check(values)
        if (values["building"], values["unit"], values["room"]) not in rooms:
            raise CellError(
                _("本社区没有 %(building)s 号楼 %(unit)s 单元 %(room)s 室，请先导入房屋。"),
                "unknown_room",
                params={k: values[k] for k in ("building", "unit", "room")},
                column="room",
            )

    return dataclasses.replace(RESIDENT_SHEET, check=check)


def community_rooms(community: Community) -> dict[RoomKey, Room]:
    """Return the community's rooms by (building, unit, room) number, read once."""
    qs = Room.objects.filter(community=community).select_related("unit__building")
    return {(r.unit.building.number, r.unit.number, r.number): r for r in qs.iterator(2000)}


class _ResidentWriter:
    """Apply rows of the resident sheet to one community through the people actions.

    Each batch looks up its people by ID hash, their memberships here and their running
    residencies in three queries, registers the new people with one bulk action and moves
    everyone in with another (:func:`~linli.people.actions.do_register_people`,
    :func:`~linli.people.actions.do_start_residencies`); rows that change nothing cost no
    further query.
    """

    def __init__(
        self, actor: Actor, community: Community, rooms: Mapping[RoomKey, Room], ids: IdNumbers
    ) -> None:
        self.actor = actor
        self.community = community
        self.rooms = rooms
        self.ids = ids

    def __call__(self, rows: list[Row]) -> Sequence[Outcome | RowError]:
        return self.apply(rows)

    def apply(self, rows: list[Row]) -> Sequence[Outcome | RowError]:
        """Register, update and move in the people of ``rows``; report each row's outcome."""
        wanted: dict[int, tuple[str, str, str]] = {}
        for row in rows:
            id_type = _id_type_of(row.values)
            number, _sex = self.ids.normalise(id_type, row["id_number"])
            lookup = crypto.lookup_hash(f"{id_type}:{number}", identity.ID_PURPOSE)
            wanted[row.number] = (id_type, number, lookup)
        people = {
            (p.id_type, p.id_number_hash): p
            for p in Person.objects.filter(id_number_hash__in={w[2] for w in wanted.values()})
        }
        ids = [p.pk for p in people.values()]
        members = set(
            Membership.objects.filter(community=self.community, person_id__in=ids).values_list(
                "person_id", flat=True
            )
        )
        running = set(
            Residency.objects.filter(
                community=self.community, person_id__in=ids, date_to__isnull=True
            ).values_list("person_id", "room_id")
        )
        changed: dict[int, bool] = {}
        registrations: dict[tuple[str, str], actions.NewPerson] = {}
        for row in rows:
            id_type, number, lookup = wanted[row.number]
            person = people.get((id_type, lookup))
            changed[row.number] = person is None or person.pk not in members
            if changed[row.number]:
                registrations.setdefault((id_type, lookup), self.registration(row, id_type, number))
        fresh: set[int] = set()
        if registrations:
            registered = actions.do_register_people(
                self.actor, self.community, list(registrations.values())
            )
            for key, person in zip(registrations, registered, strict=True):
                if key not in people:
                    fresh.add(person.pk)
                people[key] = person
        moves: list[actions.MoveIn] = []
        for row in rows:
            id_type, _number, lookup = wanted[row.number]
            person = people[(id_type, lookup)]
            if person.pk not in fresh and self.update(person, row):
                changed[row.number] = True
            room = self.rooms[(row["building"], row["unit"], row["room"])]
            if (person.pk, room.pk) not in running:
                running.add((person.pk, room.pk))
                changed[row.number] = True
                moves.append(
                    actions.MoveIn(
                        person=person,
                        room=room,
                        relation=row["relation"],
                        date_from=row["date_from"],
                        category=row["category"] or RegistrationCategory.PERMANENT,
                        kinship=row["kinship"],
                    )
                )
        if moves:
            actions.do_start_residencies(
                self.actor, self.community, moves, source=ChangeSource.IMPORT
            )
        return [Outcome.APPLIED if changed[row.number] else Outcome.UNCHANGED for row in rows]

    def registration(self, row: Row, id_type: str, number: str) -> actions.NewPerson:
        """Return what registering (or linking) the row's person takes."""
        return actions.NewPerson(
            name=row["name"],
            id_type=id_type,
            number=number,
            phone=row["phone"],
            ethnicity=row["ethnicity"],
            nationality=row["nationality"],
        )

    def update(self, person: Person, row: Row) -> bool:
        """Update what the row says differently (blank cells change nothing); True if any."""
        changes: dict[str, str] = {}
        if row["name"] != person.name:
            changes["name"] = row["name"]
        phone = row["phone"]
        if phone and crypto.lookup_hash(phone, identity.PHONE_PURPOSE) != person.phone_hash:
            changes["phone"] = phone
        if row["ethnicity"] and row["ethnicity"] != person.ethnicity:
            changes["ethnicity"] = row["ethnicity"]
        if row["nationality"] and row["nationality"] != person.nationality:
            changes["nationality"] = row["nationality"]
        if changes:
            actions.do_update_person(self.actor, person, **changes)
        return bool(changes)


def import_residents(
    actor: Actor,
    community: Community,
    source: Source,
    *,
    mode: Mode = "all_or_nothing",
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 500,
) -> ImportResult:
    """Import residents from an xlsx file into a community, all or nothing unless told otherwise.

    Raises :class:`~linli.core.tabular.FileRejected` for a file that cannot be read as the
    resident sheet; row problems are in the result's report (an all-or-nothing import
    stopped by a row refused at write time returns its result with ``aborted`` set).
    """
    actor.require("person.manage", community.pk)
    rooms = community_rooms(community)
    ids = IdNumbers()
    writer = _ResidentWriter(actor, community, rooms, ids)
    sheet = sheet_for(rooms, ids)
    if mode == "valid_only":
        # Each batch commits on its own: a long import does not hold the write lock for
        # its whole length, and what was imported stays if a later batch fails.
        return run_import(
            source, sheet, writer, mode=mode, progress=progress, batch_size=batch_size
        )
    try:
        with transaction.atomic():
            return run_import(
                source, sheet, writer, mode=mode, progress=progress, batch_size=batch_size
            )
    except ImportAborted as exc:
        return exc.result


def _current_residencies(actor: Actor, community: Community) -> Iterator[Residency]:
    head_first = Case(
        When(kinship=Kinship.HEAD, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    qs = (
        Residency.objects.restrict(actor, "person.view")
        .filter(community=community, date_to__isnull=True)
        .select_related("person", "room__unit__building")
        .annotate(head_first=head_first)
        .order_by(
            "room__unit__building__number",
            "room__unit__number",
            "room__number",
            "household_id",
            "head_first",
            "date_from",
            "id",
        )
    )
    return qs.iterator(chunk_size=2000)


def export_residents(
    actor: Actor,
    community: Community,
    *,
    full: bool = False,
    language: str = "zh-hans",
) -> bytes:
    """Return the community's current residents as xlsx.

    ID numbers and phones are masked unless ``full`` is asked by an actor holding
    ``person.reveal``; a full export is a sensitive read, audited, and it is the one that
    reads back as an import (a masked ID number identifies nobody).
    """
    actor.require("person.view", community.pk)
    if full:
        actor.require("person.reveal", community.pk)
    count = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal count
        for residency in _current_residencies(actor, community):
            person, room = residency.person, residency.room
            count += 1
            if full:
                id_number = (
                    crypto.unseal(person.id_number_sealed, identity.ID_PURPOSE)
                    if person.id_number_sealed
                    else ""
                )
                phone = (
                    crypto.unseal(person.phone_sealed, identity.PHONE_PURPOSE)
                    if person.phone_sealed
                    else ""
                )
            else:
                id_number, phone = person.id_number_masked, person.phone_masked
            yield {
                "name": person.name,
                "id_type": person.id_type,
                "id_number": id_number,
                "sex": person.sex if person.sex in (Sex.MALE, Sex.FEMALE) else "",
                "ethnicity": person.ethnicity,
                "nationality": person.nationality,
                "phone": phone,
                "building": room.unit.building.number,
                "unit": room.unit.number,
                "room": room.number,
                "relation": residency.relation,
                "kinship": residency.kinship,
                "category": residency.category,
                "date_from": residency.date_from,
            }

    with translation.override(language):
        data = write_xlsx(RESIDENT_SHEET, rows(), language=language)
    if full:
        with transaction.atomic():
            audit.record(
                actor,
                "people.residents.export_full",
                community,
                community_id=community.pk,
                sensitive=True,
                changes={"rows": [None, count]},
            )
    return data


def mask_value(column: str, value: str) -> str:
    """Return a report cell as it may be stored: ID numbers and phones masked."""
    if column == "id_number" and value:
        return identity.mask_id(value)
    if column == "phone" and value:
        return identity.mask_phone(value)
    return value


def _run_job(
    actor: Actor,
    community: Community,
    data: bytes,
    mode: Mode,
    progress: Callable[[int, int], None],
) -> ImportResult:
    return import_residents(actor, community, data, mode=mode, progress=progress)


RESIDENTS_JOB = jobs.register_importer(
    jobs.Importer(
        kind="people.residents",
        sheet=RESIDENT_SHEET,
        perm="person.manage",
        run=_run_job,
        mask=mask_value,
    )
)

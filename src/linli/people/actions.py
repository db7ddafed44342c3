"""The only writers of people."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from linli.core import audit, crypto, errors, events
from linli.core.actions import do_create_user, do_give_grant
from linli.core.choices import Role
from linli.core.models import User
from linli.core.tenancy import Actor
from linli.people import codes, identity
from linli.people.choices import (
    CareTag,
    ChangeKind,
    ChangeSource,
    IdType,
    Kinship,
    RegistrationCategory,
    Relation,
    Sex,
)
from linli.people.events import ResidencyEnded, ResidencyStarted
from linli.people.models import (
    CareRecord,
    Household,
    Membership,
    Person,
    PersonPhoto,
    PopulationChange,
    Residency,
    Tenancy,
    Vehicle,
)
from linli.people.vehicles import parse_plate
from linli.places.models import Community, Room

PHOTO_PURPOSE = "person.photo"


class Registration(NamedTuple):
    """What :func:`check_register_person` found: the normalised ID and any existing person."""

    number: str
    lookup: str
    existing: Person | None


def find_by_id_number(id_type: str, number: str) -> Person | None:
    """Return the person holding a normalised ID number anywhere in the deployment, if any.

    For actions only: the row may belong to communities the caller cannot see.
    """
    lookup = crypto.lookup_hash(f"{id_type}:{number}", identity.ID_PURPOSE)
    return Person.objects.filter(id_type=id_type, id_number_hash=lookup).first()


def _person_details(
    *, name: str, id_type: str, ethnicity: str, nationality: str
) -> tuple[dict[str, list[str]], str, str]:
    """Validate the plain fields of a person; return errors and the canonical codes."""
    details: dict[str, list[str]] = {}
    if not name.strip():
        details["name"] = [_("请填写姓名。")]
    elif len(name.strip()) > 100:
        details["name"] = [_("姓名不能超过 100 个字符。")]
    if id_type not in IdType.values:
        details["id_type"] = [_("未知的证件类型。")]
    ethnic_code = ""
    if ethnicity:
        try:
            ethnic_code = codes.parse_ethnicity(ethnicity).value
        except codes.UnknownCode as exc:
            details.update(exc.details)
    country = codes.CHINA
    if nationality:
        try:
            country = codes.parse_country(nationality)
        except codes.UnknownCode as exc:
            details.update(exc.details)
    return details, ethnic_code, country


def check_register_person(
    actor: Actor, community: Community, *, name: str, id_type: str, id_number: str
) -> Registration:
    """Authorise and validate a registration; refuse an ID number the community already has.

    An ID number registered by another community is not a duplicate: the registration
    links that person to this community (``existing`` is set).
    """
    actor.require("person.manage", community.pk)
    details, _e, _c = _person_details(name=name, id_type=id_type, ethnicity="", nationality="")
    if details:
        raise errors.ValidationFailed(details=details)
    number = identity.normalise_id(id_type, id_number)
    lookup = crypto.lookup_hash(f"{id_type}:{number}", identity.ID_PURPOSE)
    existing = Person.objects.filter(id_type=id_type, id_number_hash=lookup).first()
    if existing is not None and is_member(existing, community.pk):
        raise errors.Conflict(
            _("该证件号码已登记。"),
            code="duplicate_id_number",
            details={"id_number": [_("该证件号码已在本社区登记。")]},
        )
    return Registration(number, lookup, existing)


def is_member(person: Person, community_id: int) -> bool:
    """Return whether a community knows the person."""
    return Membership.objects.filter(person=person, community_id=community_id).exists()


def add_membership(actor: Actor, person: Person, community_id: int) -> bool:
    """Make the person known to a community (inside the caller's transaction); True if new."""
    _row, created = Membership.objects.get_or_create(person=person, community_id=community_id)
    if created:
        audit.record(actor, "people.person.link", person, community_id=community_id)
    return created


def do_register_person(
    actor: Actor,
    community: Community,
    *,
    name: str,
    id_type: str = IdType.RESIDENT_ID,
    id_number: str,
    phone: str = "",
    ethnicity: str = "",
    nationality: str = "",
) -> Person:
    """Register a person in a community: ID and phone sealed, hashed and masked.

    If another community already registered the ID number, the same person is linked to
    this community and returned (their recorded details are not overwritten).
    """
    found = check_register_person(actor, community, name=name, id_type=id_type, id_number=id_number)
    details, ethnic_code, country = _person_details(
        name=name, id_type=id_type, ethnicity=ethnicity, nationality=nationality
    )
    if phone:
        try:
            identity.normalise_phone(phone)
        except errors.ValidationFailed as exc:
            details.update(exc.details)
    if details:
        raise errors.ValidationFailed(details=details)
    if found.existing is not None:
        with transaction.atomic():
            add_membership(actor, found.existing, community.pk)
        return found.existing
    person = _new_person(
        community,
        NewPerson(name, id_type, found.number, phone, ethnic_code, country),
    )
    try:
        with transaction.atomic():
            person.save(force_insert=True)
            Membership.objects.create(person=person, community=community)
            audit.record(
                actor,
                "people.person.register",
                person,
                community_id=community.pk,
                changes={"name": [None, person.name], "id_number": [None, person.id_number_masked]},
            )
    except IntegrityError as exc:  # registered concurrently by another request
        raise errors.Conflict(
            _("该证件号码已登记。"),
            code="duplicate_id_number",
            details={"id_number": [_("该证件号码已在本社区登记。")]},
        ) from exc
    return person


def _community_of(actor: Actor, person: Person, perm: str) -> int:
    """Return a community of the person where the actor holds ``perm``, or raise."""
    ids = Membership.objects.filter(person=person).values_list("community_id", flat=True)
    for community_id in sorted(ids):
        if actor.can(perm, community_id):
            return community_id
    if any(actor.can("person.view", c) for c in ids):
        raise errors.PermissionDenied()
    raise errors.NotFound()


def do_update_person(
    actor: Actor,
    person: Person,
    *,
    name: str | None = None,
    phone: str | None = None,
    ethnicity: str | None = None,
    nationality: str | None = None,
) -> dict[str, list[object]]:
    """Change a person's name, phone, ethnicity or nationality; return the audited diff."""
    community_id = _community_of(actor, person, "person.manage")
    details, ethnic_code, country = _person_details(
        name=person.name if name is None else name,
        id_type=person.id_type,
        ethnicity=ethnicity or "",
        nationality=nationality or "",
    )
    values: dict[str, object] = {}
    if name is not None:
        values["name"] = name.strip()
    if ethnicity is not None:
        values["ethnicity"] = ethnic_code
    if nationality is not None:
        values["nationality"] = country
    if phone is not None:
        if phone.strip():
            try:
                number = identity.normalise_phone(phone)
            except errors.ValidationFailed as exc:
                details.update(exc.details)
            else:
                if crypto.lookup_hash(number, identity.PHONE_PURPOSE) != person.phone_hash:
                    sealed, hashed, masked = identity.seal_phone(number)
                    values.update(phone_sealed=sealed, phone_hash=hashed, phone_masked=masked)
        else:
            values.update(phone_sealed="", phone_hash="", phone_masked="")
    if details:
        raise errors.ValidationFailed(details=details)
    with transaction.atomic():
        changes = audit.apply(person, values)
        shown = {k: v for k, v in changes.items() if k not in ("phone_sealed", "phone_hash")}
        if shown:
            audit.record(
                actor, "people.person.update", person, community_id=community_id, changes=shown
            )
    return shown


PHOTO_MAX_BYTES = 2 * 1024 * 1024
_PHOTO_TYPES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def do_set_photo(actor: Actor, person: Person, data: bytes) -> PersonPhoto:
    """Store a person's photo (JPEG or PNG, at most 2 MB), sealed at rest."""
    community_id = _community_of(actor, person, "person.manage")
    if len(data) > PHOTO_MAX_BYTES:
        raise errors.ValidationFailed(
            details={"photo": [_("照片不能超过 2 MB。")]}, code="photo_too_large"
        )
    content_type = next((t for magic, t in _PHOTO_TYPES if data.startswith(magic)), "")
    if not content_type:
        raise errors.ValidationFailed(
            details={"photo": [_("照片应为 JPEG 或 PNG 图片。")]}, code="photo_type"
        )
    with transaction.atomic():
        photo, _created = PersonPhoto.objects.update_or_create(
            person=person,
            defaults={
                "content_type": content_type,
                "size": len(data),
                "sealed": crypto.seal(data, PHOTO_PURPOSE),
            },
        )
        audit.record(
            actor,
            "people.person.photo",
            person,
            community_id=community_id,
            changes={"photo": [None, f"{content_type}, {len(data)} B"]},
        )
    return photo


def do_read_photo(actor: Actor, person: Person) -> tuple[bytes, str]:
    """Return a person's photo and its content type; a sensitive read, always audited."""
    community_id = _community_of(actor, person, "person.view")
    photo = PersonPhoto.objects.filter(person=person).first()
    if photo is None:
        raise errors.NotFound()
    data = crypto.keyring().open_bytes(photo.sealed, PHOTO_PURPOSE)
    with transaction.atomic():
        audit.record(
            actor, "people.person.photo_read", person, community_id=community_id, sensitive=True
        )
    return data, photo.content_type


def check_source(source: str) -> None:
    """Refuse an unknown source of a population change."""
    if source not in ChangeSource.values:
        raise errors.ValidationFailed(details={"source": [_("未知的来源。")]})


def _change(
    actor: Actor,
    residency: Residency,
    kind: str,
    occurred_on: dt.date,
    source: str,
    details: dict[str, object] | None = None,
) -> PopulationChange:
    """Build (unsaved) the population change of a residency event."""
    return PopulationChange(
        community_id=residency.community_id,
        person_id=residency.person_id,
        residency=residency,
        room_id=residency.room_id,
        kind=kind,
        occurred_on=occurred_on,
        source=source,
        actor=actor.user,
        actor_label=actor.label[:150],
        details={
            "relation": residency.relation,
            "category": residency.category,
            "household_id": residency.household_id,
            "kinship": residency.kinship,
            **(details or {}),
        },
    )


def _record_change(
    actor: Actor,
    residency: Residency,
    kind: str,
    occurred_on: dt.date,
    source: str,
    details: dict[str, object] | None = None,
) -> PopulationChange:
    """Append the population change of a residency event (inside the caller's transaction)."""
    change = _change(actor, residency, kind, occurred_on, source, details)
    change.save(force_insert=True)
    return change


def _start_kind(relation: str) -> str:
    """Return the population-change kind of a move-in with ``relation``."""
    return ChangeKind.TENANCY_START if relation == Relation.TENANT else ChangeKind.MOVE_IN


def _overlapping(qs: QuerySet[Residency], date_from: dt.date) -> QuerySet[Residency]:
    """Keep residencies still running on or after ``date_from`` (open, or ending later)."""
    return qs.filter(Q(date_to__isnull=True) | Q(date_to__gt=date_from))


@dataclass(frozen=True)
class Span:
    """A residency as the move-in rules see it: who, how, and for how long."""

    person_id: int
    relation: str
    date_from: dt.date
    date_to: dt.date | None


def room_spans(room_ids: Iterable[int], since: dt.date) -> dict[int, list[Span]]:
    """Return the residencies of rooms still running on or after ``since``, by room."""
    out: dict[int, list[Span]] = defaultdict(list)
    rows = _overlapping(Residency.objects.filter(room_id__in=list(room_ids)), since)
    for room_id, person_id, relation, date_from, date_to in rows.values_list(
        "room_id", "person_id", "relation", "date_from", "date_to"
    ):
        out[room_id].append(Span(person_id, relation, date_from, date_to))
    return out


def residency_clash(
    spans: Iterable[Span], *, person_id: int, relation: str, date_from: dt.date, joint_owner: bool
) -> errors.Conflict | None:
    """Return why a move-in clashes with a room's residencies, or ``None``.

    The person must not already live in the room on or after ``date_from``, and a room has
    one owner at a time unless the newcomer is a joint owner (共有产权人).
    """
    running = [s for s in spans if s.date_to is None or s.date_to > date_from]
    if any(s.person_id == person_id for s in running):
        return errors.Conflict(
            _("此人已住在该房屋。"),
            code="residency_overlap",
            details={"person": [_("此人在该日期已有该房屋的居住关系。")]},
        )
    if (
        relation == Relation.OWNER
        and not joint_owner
        and any(s.relation == Relation.OWNER for s in running)
    ):
        return errors.Conflict(
            _("该房屋在此日期已有业主；共有产权人请勾选“共有产权”。"),
            code="owner_overlap",
            details={"relation": [_("该房屋在此日期已有业主。")]},
        )
    return None


def _check_move_in_fields(relation: str, category: str, kinship: str) -> None:
    details: dict[str, list[str]] = {}
    if relation not in Relation.values:
        details["relation"] = [_("未知的居住关系。")]
    if category not in RegistrationCategory.values:
        details["category"] = [_("未知的户籍类别。")]
    if kinship and kinship not in Kinship.values:
        details["kinship"] = [_("未知的与户主关系。")]
    if details:
        raise errors.ValidationFailed(details=details)


def check_start_residency(
    actor: Actor,
    person: Person,
    room: Room,
    *,
    relation: str,
    date_from: dt.date,
    category: str,
    kinship: str = "",
    joint_owner: bool = False,
    source: str = ChangeSource.CONSOLE,
) -> None:
    """Authorise and validate a move-in; raise the first rule it breaks.

    Rules: the person is visible to the actor; relation, category and kinship are known;
    and :func:`residency_clash`.
    """
    actor.require("person.manage", room.community_id)
    if not Person.objects.restrict(actor, "person.view").filter(pk=person.pk).exists():
        raise errors.NotFound()
    _check_move_in_fields(relation, category, kinship)
    check_source(source)
    clash = residency_clash(
        room_spans([room.pk], date_from)[room.pk],
        person_id=person.pk,
        relation=relation,
        date_from=date_from,
        joint_owner=joint_owner,
    )
    if clash is not None:
        raise clash


def _open_household(room: Room, tenancy: Tenancy | None) -> Household | None:
    """Return the room's open household on the same side (owner's, or one tenancy's)."""
    households = Household.objects.filter(room=room, dissolved_on__isnull=True)
    head_residencies = Residency.objects.filter(
        room=room, date_to__isnull=True, household_id__in=households.values("pk")
    )
    same_side = (
        head_residencies.filter(tenancy=tenancy)
        if tenancy
        else head_residencies.filter(tenancy__isnull=True)
    )
    ids = same_side.values("household_id")
    return households.filter(pk__in=ids).order_by("pk").first()


def do_start_residency(
    actor: Actor,
    person: Person,
    room: Room,
    *,
    relation: str,
    date_from: dt.date,
    category: str = RegistrationCategory.PERMANENT,
    source: str = ChangeSource.CONSOLE,
    kinship: str = "",
    household: Household | None = None,
    new_household: bool = False,
    joint_owner: bool = False,
    tenancy: Tenancy | None = None,
) -> Residency:
    """Record that a person lives in a room from ``date_from`` (a move-in or tenancy start).

    The person joins ``household``, or else the room's open household on the same side
    (the owner's, or the same tenancy's), or else heads a new one (``new_household``
    forces that). A tenant's residency belongs to a registered tenancy when given.
    """
    check_start_residency(
        actor,
        person,
        room,
        relation=relation,
        date_from=date_from,
        category=category,
        kinship=kinship,
        joint_owner=joint_owner,
        source=source,
    )
    if household is not None and (household.room_id != room.pk or household.dissolved_on):
        raise errors.ValidationFailed(
            details={"household": [_("该户不在此房屋或已销户。")]}, code="household_mismatch"
        )
    if tenancy is not None and (tenancy.room_id != room.pk or tenancy.ended_on):
        raise errors.ValidationFailed(
            details={"tenancy": [_("该出租屋登记不属于此房屋或已结束。")]},
            code="tenancy_mismatch",
        )
    with transaction.atomic():
        add_membership(actor, person, room.community_id)
        joined = household or (None if new_household else _open_household(room, tenancy))
        if joined is None:
            joined = Household.objects.create(
                community_id=room.community_id, room=room, head=person, created_on=date_from
            )
            kinship = Kinship.HEAD
        elif kinship == Kinship.HEAD:
            raise errors.ValidationFailed(
                details={"kinship": [_("该户已有户主；请选择与户主的关系。")]},
                code="household_has_head",
            )
        residency = Residency.objects.create(
            community_id=room.community_id,
            person=person,
            room=room,
            relation=relation,
            category=category,
            date_from=date_from,
            household=joined,
            kinship=kinship,
            tenancy=tenancy,
        )
        kind = ChangeKind.TENANCY_START if relation == Relation.TENANT else ChangeKind.MOVE_IN
        _record_change(actor, residency, kind, date_from, source)
        audit.record(
            actor,
            "people.residency.start",
            residency,
            community_id=room.community_id,
            changes={
                "room": [None, room.pk],
                "relation": [None, relation],
                "household": [None, joined.pk],
                **({"tenancy": [None, tenancy.pk]} if tenancy is not None else {}),
            },
        )
        events.publish(
            ResidencyStarted(residency.pk, person.pk, room.community_id, room.pk, relation)
        )
    return residency


def _fresh_household(residency: Residency) -> Household | None:
    """Read a residency's household from the database (the caller's copy may be stale)."""
    if residency.household_id is None:
        return None
    return Household.objects.filter(pk=residency.household_id).first()


def _household_members(household: Household) -> QuerySet[Residency]:
    """Return the running residencies of a household."""
    return Residency.objects.filter(household=household, date_to__isnull=True)


def _after_leaving(
    actor: Actor, household: Household, leaver: Residency, on: dt.date, source: str
) -> None:
    """Keep a household whole after ``leaver`` left: dissolve it or promote a new head."""
    remaining = _household_members(household).exclude(pk=leaver.pk).select_related("person")
    if not remaining.exists():
        audit.apply(household, {"dissolved_on": on})
        return
    if household.head_id != leaver.person_id:
        return
    heir = min(
        remaining,
        key=lambda r: (r.relation != Relation.OWNER, r.person.birth_date or dt.date.max, r.pk),
    )
    _make_head(actor, household, heir, on, source, former_head_kinship="")


def _make_head(
    actor: Actor,
    household: Household,
    residency: Residency,
    on: dt.date,
    source: str,
    *,
    former_head_kinship: str,
) -> None:
    """Make ``residency``'s person the head and record the household change."""
    former = household.head_id
    audit.apply(household, {"head": residency.person})
    if former_head_kinship:
        _household_members(household).filter(person_id=former).update(kinship=former_head_kinship)
    audit.apply(residency, {"kinship": Kinship.HEAD})
    _record_change(
        actor,
        residency,
        ChangeKind.HOUSEHOLD_CHANGE,
        on,
        source,
        {"change": "head", "former_head_id": former},
    )


def do_end_residency(
    actor: Actor,
    residency: Residency,
    *,
    date_to: dt.date,
    source: str = ChangeSource.CONSOLE,
) -> Residency:
    """End a residency on ``date_to`` (a move-out or tenancy end).

    A household left without members is dissolved; one left without its head gets the
    owner, else the eldest member, as head (a household change).
    """
    actor.require("person.manage", residency.community_id)
    if residency.date_to is not None:
        raise errors.Conflict(_("该居住关系已经结束。"), code="residency_already_ended")
    if date_to < residency.date_from:
        raise errors.ValidationFailed(
            details={"date_to": [_("结束日期不能早于起始日期。")]}, code="date_to_before_from"
        )
    check_source(source)
    with transaction.atomic():
        changes = audit.apply(residency, {"date_to": date_to})
        kind = (
            ChangeKind.TENANCY_END if residency.relation == Relation.TENANT else ChangeKind.MOVE_OUT
        )
        _record_change(actor, residency, kind, date_to, source)
        household = _fresh_household(residency)
        if household is not None:
            _after_leaving(actor, household, residency, date_to, source)
        audit.record(
            actor,
            "people.residency.end",
            residency,
            community_id=residency.community_id,
            changes=changes,
        )
        events.publish(
            ResidencyEnded(
                residency.pk,
                residency.person_id,
                residency.community_id,
                residency.room_id,
                date_to,
            )
        )
    return residency


def do_change_household(
    actor: Actor,
    residency: Residency,
    *,
    household: Household | None,
    kinship: str,
    occurred_on: dt.date,
    source: str = ChangeSource.CONSOLE,
) -> Residency:
    """Move a resident to another household of the same room, or (``None``) split off a new
    one with them as head (分户). Records a household change."""
    actor.require("person.manage", residency.community_id)
    check_source(source)
    if residency.date_to is not None:
        raise errors.Conflict(_("该居住关系已经结束。"), code="residency_already_ended")
    if household is not None:
        if household.room_id != residency.room_id or household.dissolved_on:
            raise errors.ValidationFailed(
                details={"household": [_("该户不在此房屋或已销户。")]}, code="household_mismatch"
            )
        if household.pk == residency.household_id:
            raise errors.Conflict(_("此人已在该户。"), code="household_unchanged")
        if kinship not in Kinship.values or kinship == Kinship.HEAD:
            raise errors.ValidationFailed(details={"kinship": [_("请选择与户主关系。")]})
    former = _fresh_household(residency)
    if (
        household is None
        and former is not None
        and former.head_id == residency.person_id
        and not _household_members(former).exclude(pk=residency.pk).exists()
    ):
        raise errors.Conflict(_("此人已独立成户。"), code="household_unchanged")
    with transaction.atomic():
        if household is None:
            household = Household.objects.create(
                community_id=residency.community_id,
                room_id=residency.room_id,
                head=residency.person,
                created_on=occurred_on,
            )
            kinship = Kinship.HEAD
        audit.apply(residency, {"household": household, "kinship": kinship})
        _record_change(
            actor,
            residency,
            ChangeKind.HOUSEHOLD_CHANGE,
            occurred_on,
            source,
            {"change": "transfer", "former_household_id": former.pk if former else None},
        )
        if former is not None:
            _after_leaving(actor, former, residency, occurred_on, source)
        audit.record(
            actor,
            "people.household.transfer",
            residency,
            community_id=residency.community_id,
            changes={"household": [former.pk if former else None, household.pk]},
        )
    return residency


def do_set_household_head(
    actor: Actor,
    household: Household,
    residency: Residency,
    *,
    former_head_kinship: str,
    occurred_on: dt.date,
    source: str = ChangeSource.CONSOLE,
) -> Household:
    """Make a member the head of their household (变更户主); the former head gets a kinship."""
    actor.require("person.manage", household.community_id)
    check_source(source)
    household.refresh_from_db(fields=["head", "dissolved_on"])  # the caller's copy may be stale
    if residency.household_id != household.pk or residency.date_to is not None:
        raise errors.ValidationFailed(
            details={"person": [_("此人不是该户的现有成员。")]}, code="not_a_member"
        )
    if household.head_id == residency.person_id:
        raise errors.Conflict(_("此人已是户主。"), code="household_unchanged")
    if former_head_kinship not in Kinship.values or former_head_kinship == Kinship.HEAD:
        raise errors.ValidationFailed(details={"former_head_kinship": [_("请选择与户主关系。")]})
    with transaction.atomic():
        former = household.head_id
        _make_head(
            actor,
            household,
            residency,
            occurred_on,
            source,
            former_head_kinship=former_head_kinship,
        )
        audit.record(
            actor,
            "people.household.head",
            household,
            community_id=household.community_id,
            changes={"head": [former, residency.person_id]},
        )
    return household


def do_set_kinship(
    actor: Actor,
    residency: Residency,
    *,
    kinship: str,
    occurred_on: dt.date,
    source: str = ChangeSource.CONSOLE,
) -> Residency:
    """Correct a member's relation to the household head; records a household change."""
    actor.require("person.manage", residency.community_id)
    check_source(source)
    if residency.date_to is not None:
        raise errors.Conflict(_("该居住关系已经结束。"), code="residency_already_ended")
    if kinship not in Kinship.values or kinship == Kinship.HEAD:
        raise errors.ValidationFailed(details={"kinship": [_("请选择与户主关系。")]})
    household = _fresh_household(residency)
    if household is None or household.head_id == residency.person_id:
        raise errors.ValidationFailed(
            details={"kinship": [_("户主的关系请通过变更户主修改。")]}, code="is_head"
        )
    with transaction.atomic():
        changes = audit.apply(residency, {"kinship": kinship})
        if changes:
            _record_change(
                actor,
                residency,
                ChangeKind.HOUSEHOLD_CHANGE,
                occurred_on,
                source,
                {"change": "kinship", "former_kinship": changes["kinship"][0]},
            )
            audit.record(
                actor,
                "people.household.kinship",
                residency,
                community_id=residency.community_id,
                changes=changes,
            )
    return residency


def do_reveal_identity(actor: Actor, person: Person) -> dict[str, str]:
    """Return a person's full ID number and phone; a sensitive read, always audited."""
    community_id = _community_of(actor, person, "person.reveal")
    revealed = {
        "id_number": crypto.unseal(person.id_number_sealed, identity.ID_PURPOSE)
        if person.id_number_sealed
        else "",
        "phone": crypto.unseal(person.phone_sealed, identity.PHONE_PURPOSE)
        if person.phone_sealed
        else "",
    }
    with transaction.atomic():
        audit.record(
            actor,
            "people.person.reveal",
            person,
            community_id=community_id,
            sensitive=True,
            changes={"fields": [None, [k for k, v in revealed.items() if v]]},
        )
    return revealed


def _require_member(actor: Actor, person: Person, community_id: int) -> None:
    """Refuse a person the actor cannot see, or one the community does not know."""
    if not Person.objects.restrict(actor, "person.view").filter(pk=person.pk).exists():
        raise errors.NotFound()
    if not is_member(person, community_id):
        raise errors.ValidationFailed(
            details={"person": [_("此人不是本社区登记的人员。")]}, code="person_not_in_community"
        )


def check_register_vehicle(
    actor: Actor, person: Person, community: Community, *, plate: str, description: str
) -> str:
    """Authorise and validate a vehicle registration; return the normalised plate number."""
    actor.require("person.manage", community.pk)
    _require_member(actor, person, community.pk)
    number = parse_plate(plate).number
    if len(description.strip()) > 100:
        raise errors.ValidationFailed(details={"description": [_("车辆描述不能超过 100 个字符。")]})
    if Vehicle.objects.filter(community=community, plate=number).exists():
        raise _duplicate_plate()
    return number


def _duplicate_plate() -> errors.Conflict:
    """Return the error for a plate the community already registered."""
    return errors.Conflict(
        _("该车牌号已登记。"),
        code="duplicate_plate",
        details={"plate": [_("该车牌号已在本社区登记。")]},
    )


def do_register_vehicle(
    actor: Actor, person: Person, community: Community, plate: str, description: str = ""
) -> Vehicle:
    """Register a resident's vehicle by its plate (validated per GA 36); one plate per community."""
    number = check_register_vehicle(actor, person, community, plate=plate, description=description)
    parsed = parse_plate(number)
    try:
        with transaction.atomic():
            vehicle = Vehicle.objects.create(
                community=community,
                owner=person,
                plate=parsed.number,
                plate_kind=parsed.kind,
                description=description.strip(),
            )
            audit.record(
                actor,
                "people.vehicle.register",
                vehicle,
                community_id=community.pk,
                changes={"plate": [None, parsed.number], "owner": [None, person.pk]},
            )
    except IntegrityError as exc:  # registered concurrently by another request
        raise _duplicate_plate() from exc
    return vehicle


def do_remove_vehicle(actor: Actor, vehicle: Vehicle) -> None:
    """Remove a vehicle record (sold, scrapped, or the owner moved away)."""
    actor.require("person.manage", vehicle.community_id)
    with transaction.atomic():
        audit.record(
            actor,
            "people.vehicle.remove",
            vehicle,
            community_id=vehicle.community_id,
            changes={"plate": [vehicle.plate, None], "owner": [vehicle.owner_id, None]},
        )
        vehicle.delete()


def do_add_care_tag(
    actor: Actor, person: Person, community: Community, *, tag: str, note: str = ""
) -> CareRecord:
    """Tag a person for special care (重点关爱) in one community; needs ``person.care_manage``."""
    actor.require("person.care_manage", community.pk)
    _require_member(actor, person, community.pk)
    details: dict[str, list[str]] = {}
    if tag not in CareTag.values:
        details["tag"] = [_("未知的关爱类别。")]
    if len(note.strip()) > 200:
        details["note"] = [_("备注不能超过 200 个字符。")]
    if details:
        raise errors.ValidationFailed(details=details)
    duplicate = errors.Conflict(
        _("此人已有该关爱标签。"), code="duplicate_care_tag", details={"tag": [_("已有该标签。")]}
    )
    if CareRecord.objects.filter(community=community, person=person, tag=tag).exists():
        raise duplicate
    try:
        with transaction.atomic():
            record = CareRecord.objects.create(
                community=community, person=person, tag=tag, note=note.strip()
            )
            audit.record(
                actor,
                "people.care_tag.add",
                record,
                community_id=community.pk,
                changes={"tag": [None, tag]},
            )
    except IntegrityError as exc:  # added concurrently by another request
        raise duplicate from exc
    return record


def do_remove_care_tag(actor: Actor, record: CareRecord) -> None:
    """Remove a special-care tag; needs ``person.care_manage``."""
    actor.require("person.care_manage", record.community_id)
    with transaction.atomic():
        audit.record(
            actor,
            "people.care_tag.remove",
            record,
            community_id=record.community_id,
            changes={"tag": [record.tag, None], "person": [record.person_id, None]},
        )
        record.delete()


def do_open_resident_account(
    actor: Actor, person: Person, community: Community, *, username: str, password: str
) -> User:
    """Open a sign-in account for a resident (居民账号), linked to their person record.

    Staff who manage a community's residents may do this without holding ``grant.manage``:
    the account gets exactly one role, resident of this community. Audited as the staff.
    """
    actor.require("person.manage", community.pk)
    _require_member(actor, person, community.pk)
    if person.user_id is not None:
        raise errors.Conflict(_("此人已有居民账号。"), code="account_exists")
    issuer = Actor.system(f"resident-account by {actor.label}")
    with transaction.atomic():
        user = do_create_user(
            issuer, username=username.strip(), password=password, display_name=person.name
        )
        do_give_grant(issuer, community_id=community.pk, role=Role.RESIDENT, user=user)
        Person.objects.filter(pk=person.pk, user__isnull=True).update(user=user)
        person.user = user
        audit.record(
            actor,
            "people.person.account",
            person,
            community_id=community.pk,
            changes={"user": [None, user.username]},
        )
    return user


def do_record_export(
    actor: Actor, community_id: int, what: str, *, rows: int, filters: dict[str, str]
) -> None:
    """Audit a bulk export of people's data (``what``: e.g. ``population_changes``)."""
    with transaction.atomic():
        audit.record(
            actor,
            f"people.export.{what}",
            community_id=community_id,
            object_type="places.community",
            object_id=str(community_id),
            changes={"rows": [None, rows], "filters": [None, filters]},
        )


# -- bulk writers for imports -------------------------------------------------------------
#
# The same rules as the one-at-a-time actions above, checked in memory against what a few
# queries read, then written with one INSERT per table. An import of thousands of rows
# otherwise spends its time in round trips (about 16 statements per new resident).


@dataclass(frozen=True)
class NewPerson:
    """One registration for :func:`do_register_people` (the ID number already normalised)."""

    name: str
    id_type: str
    number: str
    phone: str = ""
    ethnicity: str = ""
    nationality: str = ""


def do_register_people(
    actor: Actor, community: Community, entries: Sequence[NewPerson]
) -> list[Person]:
    """Register many people in a community at once, as :func:`do_register_person` would.

    Returns the people in the order of ``entries``: new ones, or people another community
    registered, now linked here. Raises on the first entry that breaks a rule (nothing is
    written then); an ID number the community already has is ``duplicate_id_number``.
    """
    actor.require("person.manage", community.pk)
    lookups = []
    for e in entries:
        details, _e, _c = _person_details(
            name=e.name, id_type=e.id_type, ethnicity=e.ethnicity, nationality=e.nationality
        )
        if details:
            raise errors.ValidationFailed(details=details)
        lookups.append(crypto.lookup_hash(f"{e.id_type}:{e.number}", identity.ID_PURPOSE))
    if len(set(zip((e.id_type for e in entries), lookups, strict=True))) != len(entries):
        raise errors.Conflict(_("该证件号码已登记。"), code="duplicate_id_number")
    existing = {
        (p.id_type, p.id_number_hash): p
        for p in Person.objects.filter(id_number_hash__in=set(lookups))
    }
    members = set(
        Membership.objects.filter(
            community=community, person_id__in=[p.pk for p in existing.values()]
        ).values_list("person_id", flat=True)
    )
    out: list[Person | None] = []
    fresh: list[Person] = []
    for e, lookup in zip(entries, lookups, strict=True):
        found = existing.get((e.id_type, lookup))
        if found is not None and found.pk in members:
            raise errors.Conflict(
                _("该证件号码已登记。"),
                code="duplicate_id_number",
                details={"id_number": [_("该证件号码已在本社区登记。")]},
            )
        out.append(found)
        if found is None:
            fresh.append(_new_person(community, e))
    with transaction.atomic():
        created = iter(Person.objects.bulk_create(fresh))
        people = [p if p is not None else next(created) for p in out]
        Membership.objects.bulk_create([Membership(person=p, community=community) for p in people])
        audit.record_many(
            audit.entry(
                actor,
                "people.person.register"
                if p.community_id == community.pk
                else "people.person.link",
                p,
                community_id=community.pk,
                changes={"name": [None, p.name], "id_number": [None, p.id_number_masked]}
                if p.community_id == community.pk
                else None,
            )
            for p in people
        )
    return people


def _new_person(community: Community, e: NewPerson) -> Person:
    """Build (unsaved) the person an entry registers, sealed, hashed and masked."""
    _details, ethnic_code, country = _person_details(
        name=e.name, id_type=e.id_type, ethnicity=e.ethnicity, nationality=e.nationality
    )
    birth: dt.date | None = None
    sex: str = Sex.UNKNOWN
    if e.id_type == IdType.RESIDENT_ID:
        parsed = identity.parse_resident_id(e.number)
        birth, sex = parsed.birth_date, parsed.sex
    id_sealed, id_hash, id_masked = identity.seal_id(e.id_type, e.number)
    phone_sealed = phone_hash = phone_masked = ""
    if e.phone:
        phone_sealed, phone_hash, phone_masked = identity.seal_phone(
            identity.normalise_phone(e.phone)
        )
    return Person(
        community=community,
        name=e.name.strip(),
        id_type=e.id_type,
        id_number_sealed=id_sealed,
        id_number_hash=id_hash,
        id_number_masked=id_masked,
        birth_date=birth,
        sex=sex,
        phone_sealed=phone_sealed,
        phone_hash=phone_hash,
        phone_masked=phone_masked,
        ethnicity=ethnic_code,
        nationality=country,
    )


@dataclass(frozen=True)
class MoveIn:
    """One move-in for :func:`do_start_residencies` (owner side: no registered tenancy)."""

    person: Person
    room: Room
    relation: str
    date_from: dt.date
    category: str = RegistrationCategory.PERMANENT
    kinship: str = ""
    joint_owner: bool = False


def do_start_residencies(
    actor: Actor, community: Community, moves: Sequence[MoveIn], *, source: str
) -> list[Residency]:
    """Record many move-ins in one community at once, as :func:`do_start_residency` would.

    Each move is checked against the room's residencies and the moves before it; people
    join the room's open household or head a new one. Raises the first rule a move breaks
    (nothing is written then). Tenants of a registered tenancy go through
    :mod:`linli.people.tenancies` instead.
    """
    actor.require("person.manage", community.pk)
    check_source(source)
    if any(m.room.community_id != community.pk for m in moves):
        raise errors.NotFound()
    person_ids = {m.person.pk for m in moves}
    visible = set(
        Person.objects.restrict(actor, "person.view")
        .filter(pk__in=person_ids)
        .values_list("pk", flat=True)
    )
    if visible != person_ids:
        raise errors.NotFound()
    room_ids = {m.room.pk for m in moves}
    spans = room_spans(room_ids, min((m.date_from for m in moves), default=dt.date.max))
    households: dict[int, Household] = {}
    for room_id, household_id in (
        Residency.objects.filter(
            room_id__in=room_ids,
            date_to__isnull=True,
            tenancy__isnull=True,
            household__dissolved_on__isnull=True,
        )
        .order_by("household_id")
        .values_list("room_id", "household_id")
    ):
        households.setdefault(room_id, Household(pk=household_id, room_id=room_id))
    new_households: list[Household] = []
    residencies: list[Residency] = []
    for m in moves:
        _check_move_in_fields(m.relation, m.category, m.kinship)
        clash = residency_clash(
            spans[m.room.pk],
            person_id=m.person.pk,
            relation=m.relation,
            date_from=m.date_from,
            joint_owner=m.joint_owner,
        )
        if clash is not None:
            raise clash
        spans[m.room.pk].append(Span(m.person.pk, m.relation, m.date_from, None))
        kinship = m.kinship
        household = households.get(m.room.pk)
        if household is None:
            household = Household(
                community=community, room=m.room, head=m.person, created_on=m.date_from
            )
            households[m.room.pk] = household
            new_households.append(household)
            kinship = Kinship.HEAD
        elif kinship == Kinship.HEAD:
            raise errors.ValidationFailed(
                details={"kinship": [_("该户已有户主；请选择与户主的关系。")]},
                code="household_has_head",
            )
        residencies.append(
            Residency(
                community=community,
                person=m.person,
                room=m.room,
                relation=m.relation,
                category=m.category,
                date_from=m.date_from,
                household=household,
                kinship=kinship,
            )
        )
    with transaction.atomic():
        members = set(
            Membership.objects.filter(community=community, person_id__in=person_ids).values_list(
                "person_id", flat=True
            )
        )
        linked = {m.person.pk: m.person for m in moves if m.person.pk not in members}
        Membership.objects.bulk_create(
            [Membership(person=p, community=community) for p in linked.values()]
        )
        Household.objects.bulk_create(new_households)
        for r in residencies:
            r.household_id = r.household.pk if r.household else None
        Residency.objects.bulk_create(residencies)
        PopulationChange.objects.bulk_create(
            _change(actor, r, _start_kind(r.relation), r.date_from, source) for r in residencies
        )
        audit.record_many(
            [
                *(
                    audit.entry(actor, "people.person.link", p, community_id=community.pk)
                    for p in linked.values()
                ),
                *(
                    audit.entry(
                        actor,
                        "people.residency.start",
                        r,
                        community_id=community.pk,
                        changes={
                            "room": [None, r.room_id],
                            "relation": [None, r.relation],
                            "household": [None, r.household_id],
                        },
                    )
                    for r in residencies
                ),
            ]
        )
        for r in residencies:
            events.publish(ResidencyStarted(r.pk, r.person_id, community.pk, r.room_id, r.relation))
    return residencies

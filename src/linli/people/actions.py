"""The only writers of people."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from linli.core import audit, crypto, errors
from linli.core.tenancy import Actor
from linli.people import identity
from linli.people.choices import (
    ChangeKind,
    ChangeSource,
    IdType,
    RegistrationCategory,
    Relation,
    Sex,
)
from linli.people.models import Person, PopulationChange, Residency
from linli.places.models import Community, Room


def check_register_person(
    actor: Actor, community: Community, *, name: str, id_type: str, id_number: str
) -> tuple[str, str]:
    """Authorise and validate a registration; return the normalised ID and its lookup hash."""
    actor.require("person.manage", community.pk)
    details: dict[str, list[str]] = {}
    if not name.strip():
        details["name"] = [_("请填写姓名。")]
    if id_type not in IdType.values:
        details["id_type"] = [_("未知的证件类型。")]
    if details:
        raise errors.ValidationFailed(details=details)
    number = identity.normalise_id(id_type, id_number)
    lookup = crypto.lookup_hash(f"{id_type}:{number}", identity.ID_PURPOSE)
    if Person.objects.filter(community=community, id_type=id_type, id_number_hash=lookup).exists():
        raise errors.Conflict(
            _("该证件号码已登记。"),
            code="duplicate_id_number",
            details={"id_number": ["duplicate"]},
        )
    return number, lookup


def do_register_person(
    actor: Actor,
    community: Community,
    *,
    name: str,
    id_type: str = IdType.RESIDENT_ID,
    id_number: str,
    phone: str = "",
) -> Person:
    """Register a person in a community: ID and phone sealed, hashed and masked."""
    number, _lookup = check_register_person(
        actor, community, name=name, id_type=id_type, id_number=id_number
    )
    birth: dt.date | None = None
    sex: str = Sex.UNKNOWN
    if id_type == IdType.RESIDENT_ID:
        parsed = identity.parse_resident_id(number)
        birth, sex = parsed.birth_date, parsed.sex
    id_sealed, id_hash, id_masked = identity.seal_id(id_type, number)
    phone_sealed = phone_hash = phone_masked = ""
    if phone:
        phone_sealed, phone_hash, phone_masked = identity.seal_phone(
            identity.normalise_phone(phone)
        )
    with transaction.atomic():
        person = Person.objects.create(
            community=community,
            name=name.strip(),
            id_type=id_type,
            id_number_sealed=id_sealed,
            id_number_hash=id_hash,
            id_number_masked=id_masked,
            birth_date=birth,
            sex=sex,
            phone_sealed=phone_sealed,
            phone_hash=phone_hash,
            phone_masked=phone_masked,
        )
        audit.record(
            actor,
            "people.person.register",
            person,
            community_id=community.pk,
            changes={"name": [None, person.name], "id_number": [None, id_masked]},
        )
    return person


def _check_source(source: str) -> None:
    """Refuse an unknown source of a population change."""
    if source not in ChangeSource.values:
        raise errors.ValidationFailed(details={"source": [_("未知的来源。")]})


def _record_change(
    actor: Actor,
    residency: Residency,
    kind: str,
    occurred_on: dt.date,
    source: str,
    details: dict[str, object] | None = None,
) -> PopulationChange:
    """Append the population change of a residency event (inside the caller's transaction)."""
    return PopulationChange.objects.create(
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
            **(details or {}),
        },
    )


def do_start_residency(
    actor: Actor,
    person: Person,
    room: Room,
    *,
    relation: str,
    date_from: dt.date,
    category: str = RegistrationCategory.PERMANENT,
    source: str = ChangeSource.CONSOLE,
) -> Residency:
    """Record that a person lives in a room from ``date_from`` (a move-in or tenancy start)."""
    actor.require("person.manage", room.community_id)
    if person.community_id != room.community_id:
        raise errors.NotFound()
    if relation not in Relation.values or category not in RegistrationCategory.values:
        raise errors.ValidationFailed(details={"relation": [_("关系或户籍类别无效。")]})
    _check_source(source)
    with transaction.atomic():
        residency = Residency.objects.create(
            community_id=room.community_id,
            person=person,
            room=room,
            relation=relation,
            category=category,
            date_from=date_from,
        )
        kind = ChangeKind.TENANCY_START if relation == Relation.TENANT else ChangeKind.MOVE_IN
        _record_change(actor, residency, kind, date_from, source)
        audit.record(
            actor,
            "people.residency.start",
            residency,
            community_id=room.community_id,
            changes={"room": [None, room.pk], "relation": [None, relation]},
        )
    return residency


def do_end_residency(
    actor: Actor,
    residency: Residency,
    *,
    date_to: dt.date,
    source: str = ChangeSource.CONSOLE,
) -> Residency:
    """End a residency on ``date_to`` (a move-out or tenancy end)."""
    actor.require("person.manage", residency.community_id)
    if residency.date_to is not None:
        raise errors.Conflict(_("该居住关系已经结束。"), code="residency_already_ended")
    if date_to < residency.date_from:
        raise errors.ValidationFailed(
            details={"date_to": [_("结束日期不能早于起始日期。")]}, code="date_to_before_from"
        )
    _check_source(source)
    with transaction.atomic():
        changes = audit.apply(residency, {"date_to": date_to})
        kind = (
            ChangeKind.TENANCY_END if residency.relation == Relation.TENANT else ChangeKind.MOVE_OUT
        )
        _record_change(actor, residency, kind, date_to, source)
        audit.record(
            actor,
            "people.residency.end",
            residency,
            community_id=residency.community_id,
            changes=changes,
        )
    return residency


def do_reveal_identity(actor: Actor, person: Person) -> dict[str, str]:
    """Return a person's full ID number and phone; a sensitive read, always audited."""
    actor.require("person.reveal", person.community_id)
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
            community_id=person.community_id,
            sensitive=True,
            changes={"fields": [None, [k for k, v in revealed.items() if v]]},
        )
    return revealed

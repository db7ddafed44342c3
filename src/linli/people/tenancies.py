"""Rental registration (出租屋登记): the only writers of tenancies.

A :class:`~linli.people.models.Tenancy` says a room is let from a landlord until a lease
end; its tenants are residencies (relation ``tenant``) pointing at it, started and ended
through the residency actions so that every tenant's move leaves a population change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from linli.core import audit, errors
from linli.core.tenancy import Actor
from linli.people.actions import check_source, do_end_residency, do_start_residency
from linli.people.choices import (
    ChangeSource,
    Kinship,
    RegistrationCategory,
    Relation,
    TenancyPurpose,
)
from linli.people.models import Person, Residency, Tenancy
from linli.places.models import Room

NOTE_MAX = 200


def _overlapping_tenancies(room: Room, date_from: dt.date, date_to: dt.date) -> Q:
    """Return the filter of the room's tenancies running at some time in [from, to).

    An open tenancy (not ended) runs until someone ends it, whatever its lease end says:
    a lease past its end with tenants still registered still occupies the room.
    """
    runs_after_start = Q(ended_on__isnull=True) | Q(ended_on__gt=date_from)
    return Q(room=room) & Q(date_from__lt=date_to) & runs_after_start


def _tenancy_overlap() -> errors.Conflict:
    """Return the error for a room already let in the period."""
    return errors.Conflict(
        _("该房屋在此期间已有出租登记；请先办理退租。"),
        code="tenancy_overlap",
        details={"date_from": [_("该房屋在此期间已有出租登记。")]},
    )


def _heads(residency: Residency) -> bool:
    """Say whether the residency's person heads its household."""
    return residency.household is not None and residency.household.head_id == residency.person_id


def _require_open(tenancy: Tenancy) -> None:
    """Refuse a change to a tenancy that has ended."""
    if tenancy.ended_on is not None:
        raise errors.Conflict(_("该出租屋登记已结束。"), code="tenancy_ended")


def check_register_tenancy(
    actor: Actor,
    room: Room,
    *,
    landlord: Person | None,
    tenants: Sequence[tuple[Person, str]],
    date_from: dt.date,
    date_to: dt.date,
    purpose: str,
    note: str,
    source: str,
) -> None:
    """Authorise and validate a rental registration; raise the first rule it breaks.

    Rules: the actor manages people in the room's community and sees the landlord; the
    lease ends after it starts; purpose, categories and source are known; no tenant is
    listed twice; and the room has no other tenancy running in the period. Each tenant's
    own move-in rules are checked when the residencies are written.
    """
    actor.require("person.manage", room.community_id)
    visible = Person.objects.restrict(actor, "person.view")
    if landlord is not None and not visible.filter(pk=landlord.pk).exists():
        raise errors.NotFound()
    details: dict[str, list[str]] = {}
    if date_to <= date_from:
        details["date_to"] = [_("租约到期日应晚于起租日期。")]
    if purpose not in TenancyPurpose.values:
        details["purpose"] = [_("未知的出租用途。")]
    if len(note.strip()) > NOTE_MAX:
        details["note"] = [_("备注不能超过 200 个字符。")]
    if any(category not in RegistrationCategory.values for _p, category in tenants):
        details["tenants"] = [_("未知的户籍类别。")]
    if details:
        code = "date_to_not_after_from" if list(details) == ["date_to"] else None
        raise errors.ValidationFailed(details=details, code=code)
    check_source(source)
    ids = [p.pk for p, _c in tenants]
    if len(ids) != len(set(ids)):
        raise errors.ValidationFailed(
            details={"tenants": [_("同一租户不能重复登记。")]}, code="duplicate_tenant"
        )
    if landlord is not None and landlord.pk in ids:
        raise errors.ValidationFailed(
            details={"landlord": [_("房东不能同时是本次登记的租户。")]}, code="landlord_is_tenant"
        )
    if Tenancy.objects.filter(_overlapping_tenancies(room, date_from, date_to)).exists():
        raise _tenancy_overlap()


def do_register_tenancy(
    actor: Actor,
    room: Room,
    *,
    landlord: Person | None,
    tenants: Sequence[tuple[Person, str]],
    date_from: dt.date,
    date_to: dt.date,
    purpose: str = TenancyPurpose.RESIDENTIAL,
    note: str = "",
    source: str = ChangeSource.CONSOLE,
) -> Tenancy:
    """Register a rental (出租屋登记) and move its tenants in, all or nothing.

    ``tenants`` are ``(person, registration category)`` pairs; each gets a tenant
    residency from ``date_from`` (a tenancy start in the population changes). The first
    heads the tenancy's household; the others join it.
    """
    check_register_tenancy(
        actor,
        room,
        landlord=landlord,
        tenants=tenants,
        date_from=date_from,
        date_to=date_to,
        purpose=purpose,
        note=note,
        source=source,
    )
    with transaction.atomic():
        tenancy = Tenancy.objects.create(
            community_id=room.community_id,
            room=room,
            landlord=landlord,
            purpose=purpose,
            date_from=date_from,
            date_to=date_to,
            note=note.strip(),
        )
        audit.record(
            actor,
            "people.tenancy.register",
            tenancy,
            community_id=room.community_id,
            changes={
                "room": [None, room.pk],
                "landlord": [None, landlord.pk if landlord else None],
                "date_from": [None, date_from.isoformat()],
                "date_to": [None, date_to.isoformat()],
                "tenants": [None, [p.pk for p, _c in tenants]],
            },
        )
        for person, category in tenants:
            do_start_residency(
                actor,
                person,
                room,
                relation=Relation.TENANT,
                date_from=date_from,
                category=category,
                source=source,
                tenancy=tenancy,
            )
    return tenancy


def do_add_tenant(
    actor: Actor,
    tenancy: Tenancy,
    person: Person,
    *,
    date_from: dt.date,
    category: str = RegistrationCategory.FLOATING,
    kinship: str = "",
    source: str = ChangeSource.CONSOLE,
) -> Residency:
    """Move another tenant into a registered rental from ``date_from`` (a tenancy start)."""
    actor.require("person.manage", tenancy.community_id)
    _require_open(tenancy)
    if not tenancy.date_from <= date_from < tenancy.date_to:
        raise errors.ValidationFailed(
            details={"date_from": [_("入住日期应在租期之内。")]}, code="date_outside_tenancy"
        )
    if kinship == Kinship.HEAD:
        kinship = ""  # the household decides who heads it
    return do_start_residency(
        actor,
        person,
        tenancy.room,
        relation=Relation.TENANT,
        date_from=date_from,
        category=category,
        kinship=kinship,
        source=source,
        tenancy=tenancy,
    )


def do_extend_tenancy(
    actor: Actor, tenancy: Tenancy, *, date_to: dt.date, note: str | None = None
) -> Tenancy:
    """Renew a lease to a later end (续租); reminders start again for the new end."""
    actor.require("person.manage", tenancy.community_id)
    _require_open(tenancy)
    if date_to <= tenancy.date_to:
        raise errors.ValidationFailed(
            details={"date_to": [_("续租后的到期日应晚于原到期日。")]}, code="date_to_not_later"
        )
    if note is not None and len(note.strip()) > NOTE_MAX:
        raise errors.ValidationFailed(details={"note": [_("备注不能超过 200 个字符。")]})
    later = Tenancy.objects.filter(
        _overlapping_tenancies(tenancy.room, tenancy.date_from, date_to)
    ).exclude(pk=tenancy.pk)
    if later.exists():
        raise _tenancy_overlap()
    values: dict[str, object] = {"date_to": date_to, "reminded_on": None}
    if note is not None:
        values["note"] = note.strip()
    with transaction.atomic():
        changes = audit.apply(tenancy, values)
        audit.record(
            actor,
            "people.tenancy.extend",
            tenancy,
            community_id=tenancy.community_id,
            changes=changes,
        )
    return tenancy


def do_end_tenancy(
    actor: Actor,
    tenancy: Tenancy,
    *,
    ended_on: dt.date,
    source: str = ChangeSource.CONSOLE,
) -> Tenancy:
    """End a rental on ``ended_on`` (退租): every tenant still living there moves out."""
    actor.require("person.manage", tenancy.community_id)
    _require_open(tenancy)
    if ended_on < tenancy.date_from:
        raise errors.ValidationFailed(
            details={"ended_on": [_("退租日期不能早于起租日期。")]}, code="date_to_before_from"
        )
    check_source(source)
    with transaction.atomic():
        running = Residency.objects.filter(tenancy=tenancy, date_to__isnull=True).select_related(
            "household"
        )
        # Heads leave last, so a household is dissolved rather than handed to a member who
        # is moving out the same day.
        for residency in sorted(running, key=lambda r: (_heads(r), r.pk)):
            do_end_residency(actor, residency, date_to=ended_on, source=source)
        changes = audit.apply(tenancy, {"ended_on": ended_on})
        audit.record(
            actor,
            "people.tenancy.end",
            tenancy,
            community_id=tenancy.community_id,
            changes=changes,
        )
    return tenancy

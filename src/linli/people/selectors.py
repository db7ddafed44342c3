"""Tenant-scoped reads of people."""

from __future__ import annotations

import base64
import datetime as dt

from django.db.models import Case, Count, Prefetch, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import errors
from linli.core.tenancy import Actor, ScopedQuerySet
from linli.people.choices import Kinship
from linli.people.models import (
    CareRecord,
    Household,
    Membership,
    Person,
    PopulationChange,
    Residency,
    Tenancy,
    Vehicle,
)
from linli.people.vehicles import normalise_plate
from linli.places.models import Room


def list_people(
    actor: Actor, *, community_id: int | None = None, q: str = ""
) -> ScopedQuerySet[Person]:
    """Return the people the actor may see."""
    qs = Person.objects.restrict(actor, "person.view")
    if community_id is not None:
        qs = qs.in_community(community_id)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs


def get_person(actor: Actor, person_id: int) -> Person:
    """Return one visible person or raise :class:`NotFound`."""
    return list_people(actor).one_or_404(person_id)


def person_communities(actor: Actor, person: Person, perm: str = "person.view") -> list[int]:
    """Return the ids of the person's communities where the actor holds ``perm``."""
    ids = Membership.objects.filter(person=person).values_list("community_id", flat=True)
    return [c for c in sorted(ids) if actor.can(perm, c)]


def list_current_residencies(
    actor: Actor, *, community_id: int | None = None
) -> QuerySet[Residency]:
    """Return residencies that have not ended."""
    qs = Residency.objects.restrict(actor, "person.view").filter(date_to__isnull=True)
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    return qs


def list_residencies(actor: Actor, *, person_id: int) -> QuerySet[Residency]:
    """Return a visible person's residencies, current and past, with their rooms."""
    return (
        Residency.objects.restrict(actor, "person.view")
        .filter(person_id=person_id)
        .select_related("room__unit__building")
        .order_by("date_to", "-date_from", "id")
    )


def count_residents_by_building(actor: Actor, *, community_id: int | None = None) -> dict[int, int]:
    """Count the people currently living in each visible building (building id -> count)."""
    qs = list_current_residencies(actor, community_id=community_id)
    rows = (
        qs.order_by()
        .values_list("room__unit__building_id")
        .annotate(n=Count("person_id", distinct=True))
    )
    return {building_id: n for building_id, n in rows}


def decode_cursor(cursor: str) -> int:
    """Return the last id a feed cursor points after; raise ``ValidationFailed`` if forged."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor.encode() + b"==").decode()
        kind, _sep, value = raw.partition(":")
        last_id = int(value)
    except (ValueError, UnicodeDecodeError):
        last_id, kind = -1, ""
    if kind != "pc" or last_id < 0:
        raise errors.ValidationFailed(details={"cursor": ["invalid"]}, code="invalid_cursor")
    return last_id


def encode_cursor(last_id: int) -> str:
    """Return the opaque cursor that continues a feed after ``last_id``."""
    return base64.urlsafe_b64encode(f"pc:{last_id}".encode()).decode().rstrip("=")


def population_feed(
    actor: Actor, community_id: int, *, cursor: str = "", limit: int = 100
) -> tuple[list[PopulationChange], str]:
    """Return the next population changes of a community after ``cursor``, and the new cursor.

    The cursor only moves forward: a caller that stores it and polls sees every change
    once, in id order.
    """
    actor.require("population.view", community_id)
    after = decode_cursor(cursor)
    rows = list(
        PopulationChange.objects.restrict(actor, "population.view")
        .filter(community_id=community_id, id__gt=after)
        .select_related("person")
        .order_by("id")[:limit]
    )
    return rows, encode_cursor(rows[-1].pk if rows else after)


def list_population_changes(
    actor: Actor, *, community_id: int | None = None, kind: str = ""
) -> ScopedQuerySet[PopulationChange]:
    """Return population changes the actor may follow, newest first."""
    qs = (
        PopulationChange.objects.restrict(actor, "population.view")
        .select_related("person", "room", "room__unit", "room__unit__building")
        .order_by("-id")
    )
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def get_room(actor: Actor, room_id: int, perm: str = "person.view") -> Room:
    """Return a room in a community where the actor holds ``perm``, or raise ``NotFound``."""
    return Room.objects.restrict(actor, perm).one_or_404(room_id)


def get_residency(actor: Actor, residency_id: int) -> Residency:
    """Return one visible residency or raise :class:`NotFound`."""
    return (
        Residency.objects.restrict(actor, "person.view")
        .select_related("household", "person")
        .one_or_404(residency_id)
    )


def list_households(
    actor: Actor,
    *,
    community_id: int | None = None,
    room_id: int | None = None,
    include_dissolved: bool = False,
) -> ScopedQuerySet[Household]:
    """Return the visible households, open ones only unless ``include_dissolved``."""
    qs = Household.objects.restrict(actor, "person.view").select_related("head", "room")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if room_id is not None:
        qs = qs.filter(room_id=room_id)
    if not include_dissolved:
        qs = qs.filter(dissolved_on__isnull=True)
    return qs


def get_household(actor: Actor, household_id: int) -> Household:
    """Return one visible household with its current members (``members``), or 404."""
    head_first = Case(When(kinship=Kinship.HEAD, then=Value(0)), default=Value(1))
    return (
        Household.objects.restrict(actor, "person.view")
        .select_related("head", "room")
        .prefetch_related(
            Prefetch(
                "residencies",
                queryset=Residency.objects.filter(date_to__isnull=True)
                .select_related("person")
                .order_by(head_first, "date_from", "id"),
                to_attr="members",
            )
        )
        .one_or_404(household_id)
    )


TENANCY_STATUSES = ("", "open", "expiring", "overdue", "ended")


def list_tenancies(
    actor: Actor,
    *,
    community_id: int | None = None,
    room_id: int | None = None,
    status: str = "",
    within_days: int = 30,
    today: dt.date | None = None,
) -> ScopedQuerySet[Tenancy]:
    """Return visible rental registrations, soonest lease end first.

    ``status``: ``open`` (not ended), ``expiring`` (open, lease ending within
    ``within_days`` from today, today included), ``overdue`` (open, lease ended before
    today), ``ended``; empty for all.
    """
    if status not in TENANCY_STATUSES:
        raise errors.ValidationFailed(
            details={"status": [_("状态应为 open、expiring、overdue 或 ended。")]},
            code="invalid_status",
        )
    today = today or timezone.localdate()
    qs = Tenancy.objects.restrict(actor, "person.view").select_related("room", "landlord")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if room_id is not None:
        qs = qs.filter(room_id=room_id)
    if status == "ended":
        return qs.filter(ended_on__isnull=False)
    if status:
        qs = qs.filter(ended_on__isnull=True)
    if status == "expiring":
        qs = qs.filter(date_to__gte=today, date_to__lte=today + dt.timedelta(days=within_days))
    elif status == "overdue":
        qs = qs.filter(date_to__lt=today)
    return qs


def get_tenancy(actor: Actor, tenancy_id: int) -> Tenancy:
    """Return one visible tenancy with its tenants' residencies (``tenants``), or 404."""
    return (
        Tenancy.objects.restrict(actor, "person.view")
        .select_related("room", "landlord")
        .prefetch_related(
            Prefetch(
                "residencies",
                queryset=Residency.objects.select_related("person").order_by("date_from", "id"),
                to_attr="tenants",
            )
        )
        .one_or_404(tenancy_id)
    )


def list_vehicles(
    actor: Actor, *, community_id: int | None = None, owner_id: int | None = None, q: str = ""
) -> ScopedQuerySet[Vehicle]:
    """Return visible vehicles; ``q`` matches the plate (separators and case ignored)."""
    qs = Vehicle.objects.restrict(actor, "person.view").select_related("owner")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    if q:
        qs = qs.filter(plate__contains=normalise_plate(q))
    return qs


def get_vehicle(actor: Actor, vehicle_id: int) -> Vehicle:
    """Return one visible vehicle or raise :class:`NotFound`."""
    return Vehicle.objects.restrict(actor, "person.view").one_or_404(vehicle_id)


def list_care_records(
    actor: Actor,
    *,
    community_id: int | None = None,
    person_id: int | None = None,
    tag: str = "",
) -> ScopedQuerySet[CareRecord]:
    """Return special-care tags; only ``person.care_view`` holders see any.

    An actor holding the permission nowhere (or not on ``community_id``) is refused
    rather than shown an empty list, so no other role mistakes "hidden" for "none".
    """
    if community_id is not None:
        actor.require("person.care_view", community_id)
    elif actor.community_ids("person.care_view") == frozenset():
        raise errors.PermissionDenied()
    qs = CareRecord.objects.restrict(actor, "person.care_view").select_related("person")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if person_id is not None:
        qs = qs.filter(person_id=person_id)
    if tag:
        qs = qs.filter(tag=tag)
    return qs


def get_care_record(actor: Actor, record_id: int) -> CareRecord:
    """Return one special-care tag the actor may see or raise :class:`NotFound`."""
    return CareRecord.objects.restrict(actor, "person.care_view").one_or_404(record_id)

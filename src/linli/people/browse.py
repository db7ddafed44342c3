"""Reads behind the console's pages of places and people, each scoped to the actor.

The community tree (楼栋 → 单元 → 房屋 with occupancy), a room's residents by household,
a person's record (residencies, vehicles, care tags, tenancies), rental registrations
(出租屋) with their lease alerts, and a resident's own household (我的家庭). Every query
goes through ``restrict(actor, perm)``; an object outside the scope is :class:`NotFound`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from linli.core.tenancy import Actor
from linli.people import selectors
from linli.people.models import (
    CareRecord,
    Household,
    Person,
    PersonPhoto,
    Residency,
    Tenancy,
    Vehicle,
)
from linli.places.models import Building, Room, Unit

EXPIRY_DAYS = 30


def natural_key(number: str) -> tuple[tuple[int, int | str], ...]:
    """Sort house numbers as people do: "2" before "10", digits before letters."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.findall(r"\d+|\D+", number))


# -- the community tree -------------------------------------------------------------------


@dataclass
class RoomNode:
    """A room in the tree with its current residents (``None`` if the actor may not know)."""

    room: Room
    residents: int | None


@dataclass
class UnitNode:
    """A unit in the tree with its rooms."""

    unit: Unit
    rooms: list[RoomNode] = field(default_factory=list)

    @property
    def residents(self) -> int:
        """Return the people living in the unit's rooms."""
        return sum(r.residents or 0 for r in self.rooms)

    @property
    def occupied(self) -> int:
        """Return how many of the unit's rooms have residents."""
        return sum(1 for r in self.rooms if r.residents)


@dataclass
class BuildingNode:
    """A building in the tree with its units."""

    building: Building
    units: list[UnitNode] = field(default_factory=list)

    @property
    def rooms(self) -> int:
        """Return the number of rooms in the building."""
        return sum(len(u.rooms) for u in self.units)

    @property
    def residents(self) -> int:
        """Return the people living in the building."""
        return sum(u.residents for u in self.units)

    @property
    def occupied(self) -> int:
        """Return how many of the building's rooms have residents."""
        return sum(u.occupied for u in self.units)


def residents_per_room(actor: Actor, community_id: int) -> dict[int, int]:
    """Count the people currently living in each room of a community (room id -> count)."""
    rows = (
        Residency.objects.restrict(actor, "person.view")
        .filter(community_id=community_id, date_to__isnull=True)
        .order_by()
        .values_list("room_id")
        .annotate(n=Count("person_id", distinct=True))
    )
    return {room_id: n for room_id, n in rows}


def community_tree(actor: Actor, community_id: int) -> list[BuildingNode]:
    """Return a community's buildings, units and rooms (``place.view``) in number order.

    Rooms run from the top floor down, as on a building's elevation.

    Occupancy comes with ``person.view``; without it every room's ``residents`` is ``None``.
    Four queries whatever the size of the community.
    """
    actor.require("place.view", community_id)
    buildings = {
        b.pk: BuildingNode(b)
        for b in Building.objects.restrict(actor, "place.view").filter(community_id=community_id)
    }
    units: dict[int, UnitNode] = {}
    for unit in Unit.objects.restrict(actor, "place.view").filter(community_id=community_id):
        units[unit.pk] = node = UnitNode(unit)
        buildings[unit.building_id].units.append(node)
    occupancy = (
        residents_per_room(actor, community_id) if actor.can("person.view", community_id) else None
    )
    rooms = Room.objects.restrict(actor, "place.view").filter(community_id=community_id)
    for room in rooms.order_by("floor", "id"):
        count = None if occupancy is None else occupancy.get(room.pk, 0)
        units[room.unit_id].rooms.append(RoomNode(room, count))
    for b in buildings.values():
        b.units.sort(key=lambda u: natural_key(u.unit.number))
        for u in b.units:
            u.rooms.sort(key=lambda r: (-r.room.floor, natural_key(r.room.number)))
    return sorted(buildings.values(), key=lambda b: natural_key(b.building.number))


# -- a room -------------------------------------------------------------------------------


def get_room(actor: Actor, room_id: int) -> Room:
    """Return a room the actor may see (``place.view``) or raise :class:`NotFound`."""
    return (
        Room.objects.restrict(actor, "place.view")
        .select_related("unit__building", "community")
        .one_or_404(room_id)
    )


@dataclass
class HouseholdMembers:
    """A household with its current members, the head first."""

    household: Household | None
    members: list[Residency]


def _member_order(residency: Residency) -> tuple[int, str, str, int]:
    head = residency.household is not None and residency.household.head_id == residency.person_id
    return (0 if head else 1, residency.kinship or "99", residency.person.name, residency.pk)


def group_by_household(residencies: list[Residency]) -> list[HouseholdMembers]:
    """Group running residencies by household (head, then kinship order), oldest first."""
    groups: dict[int | None, list[Residency]] = defaultdict(list)
    for r in residencies:
        groups[r.household_id].append(r)
    out = [
        HouseholdMembers(members[0].household, sorted(members, key=_member_order))
        for key, members in groups.items()
        if key is not None
    ]
    out.sort(key=lambda g: g.household.pk if g.household else 0)
    if None in groups:  # residencies from before households existed
        out.append(HouseholdMembers(None, sorted(groups[None], key=_member_order)))
    return out


@dataclass
class RoomResidents:
    """Who lives in a room now (by household) and who lived there before."""

    current: list[HouseholdMembers]
    past: list[Residency]

    @property
    def count(self) -> int:
        """Return the number of current residencies."""
        return sum(len(g.members) for g in self.current)


def room_residents(actor: Actor, room: Room) -> RoomResidents:
    """Return a room's current residents by household and its past residents, newest first."""
    rows = list(
        Residency.objects.restrict(actor, "person.view")
        .filter(room=room)
        .select_related("person", "household", "tenancy")
        .order_by("-date_to", "-date_from", "id")
    )
    current = [r for r in rows if r.date_to is None]
    past = [r for r in rows if r.date_to is not None]
    return RoomResidents(group_by_household(current), past)


def room_tenancies(actor: Actor, room: Room) -> QuerySet[Tenancy]:
    """Return a room's rental registrations, the running one first."""
    return (
        Tenancy.objects.restrict(actor, "person.view")
        .filter(room=room)
        .select_related("landlord")
        .order_by(models.F("ended_on").desc(nulls_first=True), "-date_from", "id")
    )


# -- a person -----------------------------------------------------------------------------


def person_residencies(actor: Actor, person: Person) -> QuerySet[Residency]:
    """Return a person's residencies in every community the actor sees, running first."""
    return (
        Residency.objects.restrict(actor, "person.view")
        .filter(person=person)
        .select_related("room__unit__building", "community", "household__head")
        .order_by(models.F("date_to").desc(nulls_first=True), "-date_from", "id")
    )


def person_vehicles(actor: Actor, person: Person) -> QuerySet[Vehicle]:
    """Return the vehicles a person owns, in the communities the actor sees."""
    return Vehicle.objects.restrict(actor, "person.view").filter(owner=person)


def person_care_tags(actor: Actor, person: Person) -> QuerySet[CareRecord]:
    """Return a person's special-care tags where the actor holds ``person.care_view``."""
    return CareRecord.objects.restrict(actor, "person.care_view").filter(person=person)


def person_tenancies(actor: Actor, person: Person) -> QuerySet[Tenancy]:
    """Return the rental registrations a person lets (as landlord) or rents in."""
    return (
        Tenancy.objects.restrict(actor, "person.view")
        .filter(Q(landlord=person) | Q(residencies__person=person))
        .select_related("room__unit__building", "landlord")
        .distinct()
        .order_by("-date_from", "id")
    )


def has_photo(actor: Actor, person: Person) -> bool:
    """Say whether a person the actor may see has a photo (without reading it)."""
    visible = Person.objects.restrict(actor, "person.view").filter(pk=person.pk)
    return PersonPhoto.objects.filter(person__in=visible).exists()


# -- rental registrations (出租屋) ----------------------------------------------------------


class TenancyState(models.TextChoices):
    """How a rental registration stands on a given day (a list filter)."""

    OPEN = "open", _("在租")
    EXPIRING = "expiring", _("30 天内到期")
    OVERDUE = "overdue", _("已逾期")
    ENDED = "ended", _("已退租")


def list_tenancies(
    actor: Actor, *, community_id: int | None, state: str = "", today: dt.date
) -> QuerySet[Tenancy]:
    """Return rental registrations for the list page: running ones first, soonest lease end
    first, with their rooms' addresses and the number of current tenants (``tenants``).

    ``state`` is a :class:`TenancyState` value ("" for all), with the meaning of
    :func:`linli.people.selectors.list_tenancies`.
    """
    return (
        selectors.list_tenancies(
            actor, community_id=community_id, status=state, within_days=EXPIRY_DAYS, today=today
        )
        .select_related("room__unit__building", "landlord")
        .annotate(tenants=Count("residencies", filter=Q(residencies__date_to__isnull=True)))
        .order_by(models.F("ended_on").desc(nulls_first=True), "date_to", "id")
    )


@dataclass(frozen=True)
class LeaseAlerts:
    """The dashboard card 租约即将到期: counts and the first leases to act on."""

    expiring: int
    overdue: int
    soonest: list[Tenancy]
    today: dt.date
    soon: dt.date

    @property
    def any(self) -> bool:
        """Say whether any lease needs attention."""
        return bool(self.expiring or self.overdue)


def lease_alerts(actor: Actor, community_id: int, *, today: dt.date, limit: int = 5) -> LeaseAlerts:
    """Return the leases of a community that end within 30 days or are overdue.

    The counts come from one aggregate; the leases to act on are read only if there are any.
    """
    soon = today + dt.timedelta(days=EXPIRY_DAYS)
    due = selectors.list_tenancies(
        actor, community_id=community_id, status=TenancyState.OPEN, today=today
    ).filter(date_to__lte=soon)
    counts = due.order_by().aggregate(
        expiring=Count("pk", filter=Q(date_to__gte=today)),
        overdue=Count("pk", filter=Q(date_to__lt=today)),
    )
    soonest = (
        list(due.select_related("room__unit__building", "landlord").order_by("date_to")[:limit])
        if counts["expiring"] or counts["overdue"]
        else []
    )
    return LeaseAlerts(counts["expiring"], counts["overdue"], soonest, today, soon)


# -- a resident's own household (我的家庭) ---------------------------------------------------


def own_person(actor: Actor) -> Person | None:
    """Return the person record linked to the actor's own account, if any."""
    if actor.user is None:
        return None
    return Person.objects.restrict(actor, "household.view_own").filter(user=actor.user).first()


@dataclass
class OwnHousehold:
    """One of a resident's households: its room, members and their vehicles."""

    household: Household
    members: list[Residency]
    vehicles: list[Vehicle]


def own_households(actor: Actor, person: Person) -> list[OwnHousehold]:
    """Return the running households ``person`` belongs to, with members and vehicles.

    Only households in communities where the actor holds ``household.view_own`` and where
    the person currently lives; members show names and kinship, never identity numbers.
    """
    households = list(
        Household.objects.restrict(actor, "household.view_own")
        .filter(
            dissolved_on__isnull=True,
            residencies__person=person,
            residencies__date_to__isnull=True,
        )
        .select_related("room__unit__building", "community", "head")
        .distinct()
        .order_by("id")
    )
    if not households:
        return []
    members: dict[int, list[Residency]] = defaultdict(list)
    for r in (
        Residency.objects.restrict(actor, "household.view_own")
        .filter(household__in=households, date_to__isnull=True)
        .select_related("person", "household")
    ):
        members[r.household_id].append(r)  # type: ignore[index]
    owners = {r.person_id for rows in members.values() for r in rows}
    vehicles: dict[tuple[int, int], list[Vehicle]] = defaultdict(list)
    for v in Vehicle.objects.restrict(actor, "household.view_own").filter(owner_id__in=owners):
        vehicles[(v.community_id, v.owner_id)].append(v)
    out = []
    for h in households:
        rows = sorted(members[h.pk], key=_member_order)
        cars = [v for r in rows for v in vehicles[(h.community_id, r.person_id)]]
        out.append(OwnHousehold(h, rows, cars))
    return out

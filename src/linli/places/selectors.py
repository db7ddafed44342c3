"""Tenant-scoped reads of places."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from linli.core import errors
from linli.core.tenancy import Actor
from linli.places.models import Area, Building, Community, Room, Unit


def list_communities(
    actor: Actor, *, q: str = "", perm: str = "community.view"
) -> QuerySet[Community]:
    """Return the communities the actor may see, optionally matching ``q``."""
    qs = Community.objects.restrict(actor, perm)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q) | Q(address__icontains=q))
    return qs


def get_community(actor: Actor, community_id: int, *, perm: str = "community.view") -> Community:
    """Return one community the actor may see or raise :class:`NotFound`."""
    community = Community.objects.restrict(actor, "community.view").one(community_id)
    if community is None:
        raise errors.NotFound()
    if perm != "community.view":
        actor.require(perm, community.pk)
    return community


def list_buildings(
    actor: Actor, *, community_id: int | None = None, q: str = ""
) -> QuerySet[Building]:
    """Return visible buildings with their unit and room counts, optionally matching ``q``."""
    qs = Building.objects.restrict(actor, "place.view").annotate(
        unit_count=Count("units", distinct=True), room_count=Count("units__rooms", distinct=True)
    )
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(name__icontains=q))
    return qs


def get_building(actor: Actor, building_id: int) -> Building:
    """Return one visible building (with counts) or raise :class:`NotFound`."""
    return Building.objects.restrict(actor, "place.view").one_or_404(building_id)


def list_units(actor: Actor, *, building_id: int) -> QuerySet[Unit]:
    """Return the visible units of a building with their room counts."""
    return (
        Unit.objects.restrict(actor, "place.view")
        .filter(building_id=building_id)
        .annotate(room_count=Count("rooms"))
    )


def get_unit(actor: Actor, unit_id: int) -> Unit:
    """Return one visible unit or raise :class:`NotFound`."""
    return Unit.objects.restrict(actor, "place.view").one_or_404(unit_id)


def list_rooms(
    actor: Actor,
    *,
    community_id: int | None = None,
    building_id: int | None = None,
    unit_id: int | None = None,
    use: str = "",
    floor: int | None = None,
    q: str = "",
) -> QuerySet[Room]:
    """Return visible rooms, filtered by building, unit, use, floor and room number."""
    qs = Room.objects.restrict(actor, "place.view").select_related("unit__building")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if building_id is not None:
        qs = qs.filter(unit__building_id=building_id)
    if unit_id is not None:
        qs = qs.filter(unit_id=unit_id)
    if use:
        qs = qs.filter(use=use)
    if floor is not None:
        qs = qs.filter(floor=floor)
    if q:
        qs = qs.filter(number__icontains=q)
    return qs.order_by("unit__building__number", "unit__number", "floor", "number")


def get_room(actor: Actor, room_id: int) -> Room:
    """Return one visible room or raise :class:`NotFound`."""
    return (
        Room.objects.restrict(actor, "place.view")
        .select_related("unit__building")
        .one_or_404(room_id)
    )


def list_areas(
    actor: Actor, *, community_id: int | None = None, kind: str = "", q: str = ""
) -> QuerySet[Area]:
    """Return visible areas, filtered by kind and name."""
    qs = Area.objects.restrict(actor, "place.view")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs


def get_area(actor: Actor, area_id: int) -> Area:
    """Return one visible area or raise :class:`NotFound`."""
    return Area.objects.restrict(actor, "place.view").one_or_404(area_id)


def count_rooms(actor: Actor, *, community_id: int | None = None) -> int:
    """Count the rooms the actor may see."""
    qs = Room.objects.restrict(actor, "place.view")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    return qs.count()


def count_rooms_by_use(actor: Actor, *, community_id: int | None = None) -> dict[str, int]:
    """Count the visible rooms per use (``RoomUse`` value -> count; unused uses omitted)."""
    qs = Room.objects.restrict(actor, "place.view")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    rows = qs.order_by().values_list("use").annotate(n=Count("id"))
    return {use: n for use, n in rows}


def find_room(actor: Actor, community_id: int, building: str, unit: str, number: str) -> Room:
    """Return the visible room "building-unit-number" of a community, or raise ``NotFound``."""
    room = (
        Room.objects.restrict(actor, "place.view")
        .filter(
            community_id=community_id,
            unit__building__number=building.strip(),
            unit__number=unit.strip(),
            number=number.strip(),
        )
        .first()
    )
    if room is None:
        raise errors.NotFound(
            _("找不到房屋 %(building)s 号楼 %(unit)s 单元 %(room)s。")
            % {"building": building, "unit": unit, "room": number},
            code="unknown_room",
        )
    return room

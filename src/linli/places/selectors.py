"""Tenant-scoped reads of places."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from linli.core import errors
from linli.core.tenancy import Actor
from linli.places.models import Building, Community, Room


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


def list_buildings(actor: Actor, *, community_id: int | None = None) -> QuerySet[Building]:
    """Return visible buildings with their unit and room counts."""
    qs = Building.objects.restrict(actor, "place.view").annotate(
        unit_count=Count("units", distinct=True), room_count=Count("units__rooms", distinct=True)
    )
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    return qs


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

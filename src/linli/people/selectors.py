"""Tenant-scoped reads of people."""

from __future__ import annotations

import base64

from django.db.models import Count, QuerySet

from linli.core import errors
from linli.core.tenancy import Actor, ScopedQuerySet
from linli.people.models import Membership, Person, PopulationChange, Residency


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

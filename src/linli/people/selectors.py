"""Tenant-scoped reads of people."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from linli.core.tenancy import Actor, ScopedQuerySet
from linli.people.models import Person, Residency


def list_people(
    actor: Actor, *, community_id: int | None = None, q: str = ""
) -> ScopedQuerySet[Person]:
    """Return the people the actor may see."""
    qs = Person.objects.restrict(actor, "person.view")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs


def get_person(actor: Actor, person_id: int) -> Person:
    """Return one visible person or raise :class:`NotFound`."""
    return list_people(actor).one_or_404(person_id)


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

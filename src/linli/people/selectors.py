"""Tenant-scoped reads of people."""

from __future__ import annotations

from django.db.models import QuerySet

from linli.core import errors
from linli.core.tenancy import Actor
from linli.people.models import Person, Residency


def list_people(actor: Actor, *, community_id: int | None = None, q: str = "") -> QuerySet[Person]:
    """Return the people the actor may see."""
    qs = Person.objects.restrict(actor, "person.view")
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs


def get_person(actor: Actor, person_id: int) -> Person:
    """Return one visible person or raise :class:`NotFound`."""
    person = list_people(actor).filter(pk=person_id).first()
    if person is None:
        raise errors.NotFound()
    return person


def list_current_residencies(
    actor: Actor, *, community_id: int | None = None
) -> QuerySet[Residency]:
    """Return residencies that have not ended."""
    qs = Residency.objects.restrict(actor, "person.view").filter(date_to__isnull=True)
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    return qs

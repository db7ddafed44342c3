"""API of people (thin; see actions and selectors)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from linli.api.base import ERRORS, PagePagination, actor
from linli.people import actions, selectors
from linli.people.models import Person
from linli.people.schemas import PersonOut, PopulationFeedOut, RevealOut

router = Router(tags=["people"])


@router.get("/people", response={200: list[PersonOut], **ERRORS})
@paginate(PagePagination)
def list_people(request: HttpRequest, community_id: int | None = None, q: str = "") -> object:
    """List people (ID numbers and phones masked)."""
    return selectors.list_people(actor(request), community_id=community_id, q=q)


@router.get("/people/{person_id}", response={200: PersonOut, **ERRORS})
def get_person(request: HttpRequest, person_id: int) -> Person:
    """Return one person, masked."""
    return selectors.get_person(actor(request), person_id)


@router.post("/people/{person_id}/reveal", response={200: RevealOut, **ERRORS})
def reveal_person(request: HttpRequest, person_id: int) -> dict[str, str]:
    """Reveal a person's full ID number and phone; needs ``person.reveal``; audited."""
    a = actor(request)
    return actions.do_reveal_identity(a, selectors.get_person(a, person_id))


@router.get(
    "/communities/{community_id}/population-changes",
    response={200: PopulationFeedOut, **ERRORS},
)
def population_changes(
    request: HttpRequest,
    community_id: int,
    cursor: str = "",
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, object]:
    """Follow a community's population changes (人口动态) from an opaque cursor."""
    items, next_cursor = selectors.population_feed(
        actor(request), community_id, cursor=cursor, limit=limit
    )
    return {"items": items, "next_cursor": next_cursor}

"""API of places (thin; see actions and selectors)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from linli.api.base import ERRORS, PagePagination, actor
from linli.places import actions, selectors, stats
from linli.places.models import Community
from linli.places.schemas import (
    BuildingOut,
    CommunityIn,
    CommunityOut,
    CommunityPatch,
    CommunityStatsOut,
)

router = Router(tags=["places"])


@router.get("/communities", response={200: list[CommunityOut], **ERRORS})
@paginate(PagePagination)
def list_communities(request: HttpRequest, q: str = "") -> object:
    """List the communities the caller may see."""
    return selectors.list_communities(actor(request), q=q)


@router.get("/communities/{community_id}", response={200: CommunityOut, **ERRORS})
def get_community(request: HttpRequest, community_id: int) -> Community:
    """Return one community."""
    return selectors.get_community(actor(request), community_id)


@router.post("/communities", response={201: CommunityOut, **ERRORS})
def create_community(request: HttpRequest, body: CommunityIn) -> tuple[int, Community]:
    """Create a community (platform administrators)."""
    return 201, actions.do_create_community(actor(request), **body.dict())


@router.patch("/communities/{community_id}", response={200: CommunityOut, **ERRORS})
def update_community(request: HttpRequest, community_id: int, body: CommunityPatch) -> Community:
    """Change a community's details."""
    a = actor(request)
    community = selectors.get_community(a, community_id)
    return actions.do_update_community(a, community, **body.dict(exclude_unset=True))


@router.get("/communities/{community_id}/buildings", response={200: list[BuildingOut], **ERRORS})
@paginate(PagePagination)
def list_buildings(request: HttpRequest, community_id: int) -> object:
    """List a community's buildings."""
    a = actor(request)
    community = selectors.get_community(a, community_id, perm="place.view")
    return selectors.list_buildings(a, community_id=community.pk)


@router.get("/communities/{community_id}/stats", response={200: CommunityStatsOut, **ERRORS})
def community_stats(request: HttpRequest, community_id: int) -> dict[str, int]:
    """Return the community's dashboard counts."""
    a = actor(request)
    community = selectors.get_community(a, community_id)
    return stats.community_counts(a, community.pk)

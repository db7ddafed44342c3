"""API of places (thin; see actions and selectors)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from linli.api.base import ERRORS, PagePagination, actor
from linli.places import actions, selectors, stats
from linli.places.models import Area, Building, Community, Room, Unit
from linli.places.schemas import (
    AreaIn,
    AreaOut,
    AreaPatch,
    BuildingGenerateIn,
    BuildingIn,
    BuildingOut,
    BuildingPatch,
    CommunityIn,
    CommunityOut,
    CommunityPatch,
    CommunityStatsOut,
    RoomIn,
    RoomOut,
    RoomPatch,
    UnitIn,
    UnitOut,
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
def list_buildings(request: HttpRequest, community_id: int, q: str = "") -> object:
    """List a community's buildings, optionally matching number or name."""
    a = actor(request)
    community = selectors.get_community(a, community_id, perm="place.view")
    return selectors.list_buildings(a, community_id=community.pk, q=q)


@router.post("/communities/{community_id}/buildings", response={201: BuildingOut, **ERRORS})
def create_building(
    request: HttpRequest, community_id: int, body: BuildingIn
) -> tuple[int, Building]:
    """Add a building."""
    a = actor(request)
    community = selectors.get_community(a, community_id)
    return 201, actions.do_create_building(a, community, **body.dict())


@router.post(
    "/communities/{community_id}/buildings/generate", response={201: BuildingOut, **ERRORS}
)
def generate_building(
    request: HttpRequest, community_id: int, body: BuildingGenerateIn
) -> tuple[int, Building]:
    """Create a building with its units and rooms from a room-number pattern."""
    a = actor(request)
    community = selectors.get_community(a, community_id)
    building = actions.do_generate_building(a, community, **body.dict())
    return 201, selectors.list_buildings(a).get(pk=building.pk)


@router.get("/buildings/{building_id}", response={200: BuildingOut, **ERRORS})
def get_building(request: HttpRequest, building_id: int) -> Building:
    """Return one building with its counts."""
    a = actor(request)
    selectors.get_building(a, building_id)
    return selectors.list_buildings(a).get(pk=building_id)


@router.patch("/buildings/{building_id}", response={200: BuildingOut, **ERRORS})
def update_building(request: HttpRequest, building_id: int, body: BuildingPatch) -> Building:
    """Change a building's name, floor counts or footprint."""
    a = actor(request)
    building = selectors.get_building(a, building_id)
    actions.do_update_building(a, building, **body.dict(exclude_unset=True))
    return selectors.list_buildings(a).get(pk=building_id)


@router.delete("/buildings/{building_id}", response={204: None, **ERRORS})
def delete_building(request: HttpRequest, building_id: int) -> tuple[int, None]:
    """Delete a building with its units and rooms (refused while anyone lives there)."""
    a = actor(request)
    actions.do_delete_building(a, selectors.get_building(a, building_id))
    return 204, None


@router.get("/buildings/{building_id}/units", response={200: list[UnitOut], **ERRORS})
def list_units(request: HttpRequest, building_id: int) -> object:
    """List a building's units."""
    a = actor(request)
    building = selectors.get_building(a, building_id)
    return list(selectors.list_units(a, building_id=building.pk))


@router.post("/buildings/{building_id}/units", response={201: UnitOut, **ERRORS})
def create_unit(request: HttpRequest, building_id: int, body: UnitIn) -> tuple[int, Unit]:
    """Add a unit to a building."""
    a = actor(request)
    building = selectors.get_building(a, building_id)
    return 201, actions.do_create_unit(a, building, number=body.number)


@router.delete("/units/{unit_id}", response={204: None, **ERRORS})
def delete_unit(request: HttpRequest, unit_id: int) -> tuple[int, None]:
    """Delete a unit with its rooms (refused while anyone lives there)."""
    a = actor(request)
    actions.do_delete_unit(a, selectors.get_unit(a, unit_id))
    return 204, None


@router.get("/communities/{community_id}/rooms", response={200: list[RoomOut], **ERRORS})
@paginate(PagePagination)
def list_rooms(
    request: HttpRequest,
    community_id: int,
    building_id: int | None = None,
    unit_id: int | None = None,
    use: str = "",
    floor: int | None = None,
    q: str = "",
) -> object:
    """List a community's rooms, filtered by building, unit, use, floor and number."""
    a = actor(request)
    community = selectors.get_community(a, community_id, perm="place.view")
    return selectors.list_rooms(
        a,
        community_id=community.pk,
        building_id=building_id,
        unit_id=unit_id,
        use=use,
        floor=floor,
        q=q,
    )


@router.post("/units/{unit_id}/rooms", response={201: RoomOut, **ERRORS})
def create_room(request: HttpRequest, unit_id: int, body: RoomIn) -> tuple[int, Room]:
    """Add a room to a unit."""
    a = actor(request)
    unit = selectors.get_unit(a, unit_id)
    (room,) = actions.do_create_rooms(a, unit, [(body.number, body.floor, body.area, body.use)])
    return 201, selectors.get_room(a, room.pk)


@router.get("/rooms/{room_id}", response={200: RoomOut, **ERRORS})
def get_room(request: HttpRequest, room_id: int) -> Room:
    """Return one room."""
    return selectors.get_room(actor(request), room_id)


@router.patch("/rooms/{room_id}", response={200: RoomOut, **ERRORS})
def update_room(request: HttpRequest, room_id: int, body: RoomPatch) -> Room:
    """Change a room's floor, area or use."""
    a = actor(request)
    room = selectors.get_room(a, room_id)
    return actions.do_update_room(a, room, **body.dict(exclude_unset=True))


@router.delete("/rooms/{room_id}", response={204: None, **ERRORS})
def delete_room(request: HttpRequest, room_id: int) -> tuple[int, None]:
    """Delete a room (refused while anyone lives there)."""
    a = actor(request)
    actions.do_delete_room(a, selectors.get_room(a, room_id))
    return 204, None


@router.get("/communities/{community_id}/areas", response={200: list[AreaOut], **ERRORS})
@paginate(PagePagination)
def list_areas(request: HttpRequest, community_id: int, kind: str = "", q: str = "") -> object:
    """List a community's areas (gates, parking lots, gardens, public spaces)."""
    a = actor(request)
    community = selectors.get_community(a, community_id, perm="place.view")
    return selectors.list_areas(a, community_id=community.pk, kind=kind, q=q)


@router.post("/communities/{community_id}/areas", response={201: AreaOut, **ERRORS})
def create_area(request: HttpRequest, community_id: int, body: AreaIn) -> tuple[int, Area]:
    """Add an area."""
    a = actor(request)
    community = selectors.get_community(a, community_id)
    return 201, actions.do_create_area(a, community, **body.dict())


@router.get("/areas/{area_id}", response={200: AreaOut, **ERRORS})
def get_area(request: HttpRequest, area_id: int) -> Area:
    """Return one area."""
    return selectors.get_area(actor(request), area_id)


@router.patch("/areas/{area_id}", response={200: AreaOut, **ERRORS})
def update_area(request: HttpRequest, area_id: int, body: AreaPatch) -> Area:
    """Change an area."""
    a = actor(request)
    return actions.do_update_area(
        a, selectors.get_area(a, area_id), **body.dict(exclude_unset=True)
    )


@router.delete("/areas/{area_id}", response={204: None, **ERRORS})
def delete_area(request: HttpRequest, area_id: int) -> tuple[int, None]:
    """Delete an area."""
    a = actor(request)
    actions.do_delete_area(a, selectors.get_area(a, area_id))
    return 204, None


@router.get("/communities/{community_id}/stats", response={200: CommunityStatsOut, **ERRORS})
def community_stats(request: HttpRequest, community_id: int) -> dict[str, int]:
    """Return the community's dashboard counts."""
    a = actor(request)
    community = selectors.get_community(a, community_id)
    return stats.community_counts(a, community.pk)

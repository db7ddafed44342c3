"""Cross-tenant cases for the places API (buildings, units, rooms, areas); see test_tenancy."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.test import Client

from linli.core.tenancy import Actor
from linli.places.actions import do_create_area, do_generate_building
from linli.places.models import Area, Building, Room, Unit
from tests.conftest import World

Case = Callable[[Client, World, dict[str, object]], None]


def _b_building(w: World) -> Building:
    return do_generate_building(
        Actor.system("test"), w.b, number="B1", floors_above=2, units=1, rooms_per_floor=1
    )


def _send(c: Client, method: str, url: str, data: object) -> object:
    return getattr(c, method)(url, data=json.dumps(data), content_type="application/json")


def _404(response: object) -> None:
    assert response.status_code == 404, response.content  # type: ignore[attr-defined]
    assert json.loads(response.content)["code"] == "not_found"  # type: ignore[attr-defined]


def case_create_building(c: Client, w: World, b: dict[str, object]) -> None:
    _404(_send(c, "post", f"/api/v1/communities/{w.b.pk}/buildings", {"number": "X"}))
    assert not Building.objects.filter(community=w.b).exists()


def case_generate_building(c: Client, w: World, b: dict[str, object]) -> None:
    body = {"number": "X", "floors_above": 2, "units": 1, "rooms_per_floor": 1}
    _404(_send(c, "post", f"/api/v1/communities/{w.b.pk}/buildings/generate", body))
    assert not Room.objects.filter(community=w.b).exists()


def case_get_building(c: Client, w: World, b: dict[str, object]) -> None:
    _404(c.get(f"/api/v1/buildings/{_b_building(w).pk}"))


def case_update_building(c: Client, w: World, b: dict[str, object]) -> None:
    building = _b_building(w)
    _404(_send(c, "patch", f"/api/v1/buildings/{building.pk}", {"name": "hijacked"}))
    assert Building.objects.get(pk=building.pk).name == ""


def case_delete_building(c: Client, w: World, b: dict[str, object]) -> None:
    building = _b_building(w)
    _404(c.delete(f"/api/v1/buildings/{building.pk}"))
    assert Building.objects.filter(pk=building.pk).exists()


def case_list_units(c: Client, w: World, b: dict[str, object]) -> None:
    _404(c.get(f"/api/v1/buildings/{_b_building(w).pk}/units"))


def case_create_unit(c: Client, w: World, b: dict[str, object]) -> None:
    building = _b_building(w)
    _404(_send(c, "post", f"/api/v1/buildings/{building.pk}/units", {"number": "9"}))
    assert not Unit.objects.filter(building=building, number="9").exists()


def case_delete_unit(c: Client, w: World, b: dict[str, object]) -> None:
    unit = Unit.objects.get(building=_b_building(w))
    _404(c.delete(f"/api/v1/units/{unit.pk}"))
    assert Unit.objects.filter(pk=unit.pk).exists()


def case_list_rooms(c: Client, w: World, b: dict[str, object]) -> None:
    _b_building(w)
    _404(c.get(f"/api/v1/communities/{w.b.pk}/rooms"))
    mine = json.loads(c.get(f"/api/v1/communities/{w.a.pk}/rooms").content)["items"]
    assert all(r["community_id"] == w.a.pk for r in mine)


def case_create_room(c: Client, w: World, b: dict[str, object]) -> None:
    unit = Unit.objects.get(building=_b_building(w))
    _404(_send(c, "post", f"/api/v1/units/{unit.pk}/rooms", {"number": "999", "floor": 1}))
    assert not Room.objects.filter(unit=unit, number="999").exists()


def case_get_room(c: Client, w: World, b: dict[str, object]) -> None:
    room = Room.objects.filter(community=w.b).first() or Room.objects.get(
        unit__building=_b_building(w), number="101"
    )
    _404(c.get(f"/api/v1/rooms/{room.pk}"))


def case_update_room(c: Client, w: World, b: dict[str, object]) -> None:
    room = Room.objects.get(unit__building=_b_building(w), number="101")
    _404(_send(c, "patch", f"/api/v1/rooms/{room.pk}", {"use": "vacant"}))
    assert Room.objects.get(pk=room.pk).use == "residential"


def case_delete_room(c: Client, w: World, b: dict[str, object]) -> None:
    room = Room.objects.get(unit__building=_b_building(w), number="101")
    _404(c.delete(f"/api/v1/rooms/{room.pk}"))
    assert Room.objects.filter(pk=room.pk).exists()


def _b_area(w: World) -> Area:
    return do_create_area(Actor.system("test"), w.b, kind="gate", name="B 门")


def case_list_areas(c: Client, w: World, b: dict[str, object]) -> None:
    _b_area(w)
    _404(c.get(f"/api/v1/communities/{w.b.pk}/areas"))


def case_create_area(c: Client, w: World, b: dict[str, object]) -> None:
    _404(_send(c, "post", f"/api/v1/communities/{w.b.pk}/areas", {"kind": "gate", "name": "x"}))
    assert not Area.objects.filter(community=w.b).exists()


def case_get_area(c: Client, w: World, b: dict[str, object]) -> None:
    _404(c.get(f"/api/v1/areas/{_b_area(w).pk}"))


def case_update_area(c: Client, w: World, b: dict[str, object]) -> None:
    area = _b_area(w)
    _404(_send(c, "patch", f"/api/v1/areas/{area.pk}", {"name": "hijacked"}))
    assert Area.objects.get(pk=area.pk).name == "B 门"


def case_delete_area(c: Client, w: World, b: dict[str, object]) -> None:
    area = _b_area(w)
    _404(c.delete(f"/api/v1/areas/{area.pk}"))
    assert Area.objects.filter(pk=area.pk).exists()


PLACE_CASES: dict[tuple[str, str], Case] = {
    ("post", "/api/v1/communities/{community_id}/buildings"): case_create_building,
    ("post", "/api/v1/communities/{community_id}/buildings/generate"): case_generate_building,
    ("get", "/api/v1/buildings/{building_id}"): case_get_building,
    ("patch", "/api/v1/buildings/{building_id}"): case_update_building,
    ("delete", "/api/v1/buildings/{building_id}"): case_delete_building,
    ("get", "/api/v1/buildings/{building_id}/units"): case_list_units,
    ("post", "/api/v1/buildings/{building_id}/units"): case_create_unit,
    ("delete", "/api/v1/units/{unit_id}"): case_delete_unit,
    ("get", "/api/v1/communities/{community_id}/rooms"): case_list_rooms,
    ("post", "/api/v1/units/{unit_id}/rooms"): case_create_room,
    ("get", "/api/v1/rooms/{room_id}"): case_get_room,
    ("patch", "/api/v1/rooms/{room_id}"): case_update_room,
    ("delete", "/api/v1/rooms/{room_id}"): case_delete_room,
    ("get", "/api/v1/communities/{community_id}/areas"): case_list_areas,
    ("post", "/api/v1/communities/{community_id}/areas"): case_create_area,
    ("get", "/api/v1/areas/{area_id}"): case_get_area,
    ("patch", "/api/v1/areas/{area_id}"): case_update_area,
    ("delete", "/api/v1/areas/{area_id}"): case_delete_area,
}

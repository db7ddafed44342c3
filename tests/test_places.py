"""Places: buildings from a pattern, units, rooms and areas through the API, and bad input."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from linli.core import errors
from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.people.actions import do_start_residency
from linli.places.actions import (
    do_create_building,
    do_create_rooms,
    do_create_unit,
    do_delete_building,
    do_generate_building,
    room_numbers,
)
from linli.places.models import Area, Building, Room, Unit
from tests.conftest import World

GATE = {"type": "Point", "coordinates": [120.15, 30.28]}
LAWN = {
    "type": "Polygon",
    "coordinates": [[[120.1, 30.2], [120.2, 30.2], [120.2, 30.3], [120.1, 30.2]]],
}


def body(response: object) -> dict:  # type: ignore[type-arg]
    return json.loads(response.content)  # type: ignore[attr-defined,no-any-return]


def send(client, method: str, url: str, data: object):  # type: ignore[no-untyped-def]
    return getattr(client, method)(url, data=json.dumps(data), content_type="application/json")


def test_a_building_is_generated_from_a_pattern(world: World, system: Actor) -> None:
    building = do_generate_building(
        system, world.a, number="7", floors_above=6, units=2, rooms_per_floor=2
    )
    units = Unit.objects.filter(building=building).order_by("number")
    assert [u.number for u in units] == ["1", "2"]
    rooms = Room.objects.filter(unit=units[0]).order_by("floor", "number")
    assert [r.number for r in rooms][:4] == ["101", "102", "201", "202"]
    assert rooms.count() == 12 and Room.objects.filter(unit__building=building).count() == 24
    assert {r.floor for r in rooms} == set(range(1, 7))
    assert AuditLog.objects.filter(action="places.building.generate").count() == 1


def test_a_pattern_with_the_unit_and_a_later_first_floor(world: World, system: Actor) -> None:
    building = do_generate_building(
        system,
        world.a,
        number="8",
        floors_above=3,
        units=2,
        rooms_per_floor=1,
        first_floor=2,
        pattern="{unit}-{floor}{index:02d}",
        area=Decimal("88.5"),
    )
    numbers = sorted(Room.objects.filter(unit__building=building).values_list("number", flat=True))
    assert numbers == ["1-201", "1-301", "2-201", "2-301"]
    assert set(Room.objects.filter(unit__building=building).values_list("area", flat=True)) == {
        Decimal("88.50")
    }


@pytest.mark.parametrize(
    ("pattern", "code"),
    [
        ("{floor}", "invalid_pattern"),
        ("{floor}{nope}", "invalid_pattern"),
        ("{0}", "invalid_pattern"),
    ],
)
def test_a_bad_pattern_is_refused_and_nothing_is_written(
    world: World, system: Actor, pattern: str, code: str
) -> None:
    with pytest.raises(errors.ValidationFailed) as caught:
        do_generate_building(
            system, world.a, number="9", floors_above=3, units=1, rooms_per_floor=2, pattern=pattern
        )
    assert caught.value.code == code
    assert not Building.objects.filter(number="9").exists()


def test_too_many_rooms_and_a_taken_number_write_nothing(world: World, system: Actor) -> None:
    with pytest.raises(errors.ValidationFailed) as caught:
        do_generate_building(
            system, world.a, number="9", floors_above=200, units=50, rooms_per_floor=50
        )
    assert caught.value.code == "too_many_rooms"
    do_create_building(system, world.a, number="9")
    with pytest.raises(errors.Conflict):
        do_generate_building(
            system, world.a, number="9", floors_above=2, units=1, rooms_per_floor=1
        )
    assert Unit.objects.filter(building__number="9").count() == 0


def test_room_numbers_are_unique_per_unit() -> None:
    plan = room_numbers("{floor}{index:02d}", floors=range(1, 3), units=1, rooms_per_floor=2)
    assert plan == {1: [("101", 1), ("102", 1), ("201", 2), ("202", 2)]}


def test_a_building_people_live_in_cannot_be_deleted(world: World, system: Actor) -> None:
    building = do_create_building(system, world.a, number="3")
    unit = do_create_unit(system, building, number="1")
    (room,) = do_create_rooms(system, unit, [("101", 1, None, "residential")])
    do_start_residency(
        system, world.person_a, room, relation="owner", date_from=dt.date(2024, 1, 1)
    )
    with pytest.raises(errors.Conflict) as caught:
        do_delete_building(system, building)
    assert caught.value.code == "place_in_use"
    assert Room.objects.filter(pk=room.pk).exists()
    assert not AuditLog.objects.filter(action="places.building.delete").exists()


def test_places_api_round_trip(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    c = token_client(world.manager_a)
    made = send(
        c,
        "post",
        f"/api/v1/communities/{world.a.pk}/buildings/generate",
        {"number": "5", "floors_above": 4, "units": 1, "rooms_per_floor": 2},
    )
    assert made.status_code == 201, made.content
    building = body(made)
    assert building["unit_count"] == 1 and building["room_count"] == 8
    units = body(c.get(f"/api/v1/buildings/{building['id']}/units"))
    assert [u["room_count"] for u in units] == [8]
    rooms = body(
        c.get(f"/api/v1/communities/{world.a.pk}/rooms?building_id={building['id']}&floor=2")
    )
    assert [r["number"] for r in rooms["items"]] == ["201", "202"]
    assert body(c.get(f"/api/v1/communities/{world.a.pk}/rooms?q=40"))["count"] == 2
    room_id = rooms["items"][0]["id"]
    changed = send(c, "patch", f"/api/v1/rooms/{room_id}", {"use": "rental", "area": "66.20"})
    assert body(changed)["use"] == "rental" and body(changed)["area"] == "66.20"
    added = send(c, "post", f"/api/v1/units/{units[0]['id']}/rooms", {"number": "B01", "floor": -1})
    assert added.status_code == 201 and body(added)["floor"] == -1
    assert (
        send(c, "patch", f"/api/v1/buildings/{building['id']}", {"name": "五号楼"}).status_code
        == 200
    )
    assert body(c.get(f"/api/v1/communities/{world.a.pk}/buildings?q=五号"))["count"] == 1
    assert c.delete(f"/api/v1/rooms/{body(added)['id']}").status_code == 204
    assert c.delete(f"/api/v1/buildings/{building['id']}").status_code == 204
    assert not Room.objects.filter(unit__building_id=building["id"]).exists()


def test_room_errors_are_specific(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    c = token_client(world.manager_a)
    made = body(
        send(
            c,
            "post",
            f"/api/v1/communities/{world.a.pk}/buildings/generate",
            {"number": "6", "floors_above": 2, "units": 1, "rooms_per_floor": 1},
        )
    )
    unit_id = body(c.get(f"/api/v1/buildings/{made['id']}/units"))[0]["id"]
    dup = send(c, "post", f"/api/v1/units/{unit_id}/rooms", {"number": "101", "floor": 1})
    assert dup.status_code == 409 and body(dup)["code"] == "duplicate_room"
    bad_use = send(
        c, "post", f"/api/v1/units/{unit_id}/rooms", {"number": "X", "floor": 1, "use": "castle"}
    )
    assert bad_use.status_code == 422
    assert not Room.objects.filter(number="X").exists()
    assert c.get("/api/v1/rooms/999999").status_code == 404


def test_areas_with_points_and_polygons(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    c = token_client(world.manager_a)
    url = f"/api/v1/communities/{world.a.pk}/areas"
    gate = send(c, "post", url, {"kind": "gate", "name": "南门", "geometry": GATE})
    assert gate.status_code == 201, gate.content
    lawn = send(c, "post", url, {"kind": "garden", "name": "中心花园", "geometry": LAWN})
    assert lawn.status_code == 201
    assert body(c.get(f"{url}?kind=gate"))["count"] == 1
    dup = send(c, "post", url, {"kind": "gate", "name": "南门"})
    assert dup.status_code == 409 and body(dup)["code"] == "duplicate_area"
    for bad in (
        {"kind": "moat", "name": "x"},
        {"kind": "gate", "name": "y", "geometry": {"type": "Point", "coordinates": [500, 1]}},
        {"kind": "gate", "name": "z", "geometry": {"type": "LineString", "coordinates": []}},
    ):
        r = send(c, "post", url, bad)
        assert r.status_code == 422, bad
    assert Area.objects.count() == 2
    area_id = body(gate)["id"]
    assert (
        body(send(c, "patch", f"/api/v1/areas/{area_id}", {"name": "南大门"}))["name"] == "南大门"
    )
    assert c.delete(f"/api/v1/areas/{area_id}").status_code == 204


def test_a_guard_may_look_but_not_build(world: World, token_client) -> None:  # type: ignore[no-untyped-def]
    c = token_client(world.guard_a)
    assert c.get(f"/api/v1/communities/{world.a.pk}/rooms").status_code == 200
    r = send(c, "post", f"/api/v1/communities/{world.a.pk}/areas", {"kind": "gate", "name": "北门"})
    assert r.status_code == 403

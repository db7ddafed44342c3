"""Console pages that change places: generate a building, manage areas; tenants kept apart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.urls import reverse
from django.utils import translation

from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.people.actions import do_start_residency
from linli.places.actions import do_create_area, do_generate_building
from linli.places.models import Area, Building, Room
from tests.conftest import World


@pytest.fixture(autouse=True)
def _forget_the_language() -> Iterator[None]:
    yield
    translation.deactivate()


def test_a_manager_generates_a_building_from_the_form(world: World, login) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    url = reverse("console:building_generate", args=[world.a.pk])
    assert "{floor}{index:02d}" in c.get(url).content.decode()
    r = c.post(
        url,
        {
            "number": "12",
            "floors_above": "3",
            "floors_below": "1",
            "units": "2",
            "rooms_per_floor": "2",
            "first_floor": "1",
            "pattern": "{floor}{index:02d}",
            "use": "residential",
        },
    )
    assert r.status_code == 302
    assert Room.objects.filter(unit__building__number="12", community=world.a).count() == 12


def test_a_bad_pattern_shows_on_the_form_and_writes_nothing(world: World, login) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    r = c.post(
        reverse("console:building_generate", args=[world.a.pk]),
        {
            "number": "13",
            "floors_above": "3",
            "floors_below": "0",
            "units": "1",
            "rooms_per_floor": "2",
            "first_floor": "1",
            "pattern": "{floor}",
            "use": "residential",
        },
    )
    assert r.status_code == 422
    assert "房号规则会生成重复的房号" in r.content.decode()
    assert not Building.objects.filter(number="13").exists()


def test_areas_are_listed_added_edited_and_deleted(world: World, login, system: Actor) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    r = c.post(
        reverse("console:area_new", args=[world.a.pk]),
        {
            "kind": "gate",
            "name": "东门",
            "geometry": '{"type": "Point", "coordinates": [120.1, 30.2]}',
        },
    )
    assert r.status_code == 302, r.content.decode()
    area = Area.objects.get(name="东门")
    page = c.get(reverse("console:areas", args=[world.a.pk])).content.decode()
    assert "东门" in page and "出入口" in page
    bad = c.post(
        reverse("console:area_edit", args=[world.a.pk, area.pk]),
        {"kind": "gate", "name": "东门", "geometry": "{not json"},
    )
    assert bad.status_code in (200, 422) and "不是有效的 JSON" in bad.content.decode()
    c.post(reverse("console:area_delete", args=[world.a.pk, area.pk]))
    assert not Area.objects.filter(pk=area.pk).exists()
    assert AuditLog.objects.filter(action="places.area.delete").count() == 1


def test_another_communitys_areas_are_invisible(world: World, login, system: Actor) -> None:  # type: ignore[no-untyped-def]
    theirs = do_create_area(system, world.b, kind="parking", name="B 停车场")
    c = login(world.manager_a)
    assert c.get(reverse("console:areas", args=[world.b.pk])).status_code == 404
    assert c.get(reverse("console:area_edit", args=[world.a.pk, theirs.pk])).status_code == 404
    assert c.post(reverse("console:area_delete", args=[world.b.pk, theirs.pk])).status_code == 404
    assert c.get(reverse("console:building_generate", args=[world.b.pk])).status_code == 404
    assert Area.objects.filter(pk=theirs.pk).exists()


def test_a_guard_sees_areas_but_cannot_change_them(world: World, login) -> None:  # type: ignore[no-untyped-def]
    c = login(world.guard_a)
    page = c.get(reverse("console:areas", args=[world.a.pk])).content.decode()
    assert 'id="area-new"' not in page
    assert c.get(reverse("console:area_new", args=[world.a.pk])).status_code == 403


def test_building_and_room_edit_and_delete(world: World, login, system: Actor) -> None:  # type: ignore[no-untyped-def]
    building = do_generate_building(
        system, world.a, number="21", floors_above=2, units=1, rooms_per_floor=1
    )
    room = Room.objects.get(unit__building=building, number="101")
    c = login(world.manager_a)
    r = c.post(
        reverse("console:room_edit", args=[room.pk]),
        {"floor": "1", "area": "70.5", "use": "rental"},
    )
    assert r.status_code == 302
    room.refresh_from_db()
    assert room.use == "rental" and str(room.area) == "70.50"
    bad = c.post(
        reverse("console:building_edit", args=[building.pk]),
        {"name": "x", "floors_above": "2", "floors_below": "0", "footprint": '{"type": "Point"}'},
    )
    assert bad.status_code == 422
    ok = c.post(
        reverse("console:building_edit", args=[building.pk]),
        {"name": "二十一号楼", "floors_above": "3", "floors_below": "1", "footprint": ""},
    )
    assert ok.status_code == 302
    assert Building.objects.get(pk=building.pk).floors_above == 3
    c.post(reverse("console:room_delete", args=[room.pk]))
    assert not Room.objects.filter(pk=room.pk).exists()
    c.post(reverse("console:building_delete", args=[building.pk]))
    assert not Building.objects.filter(pk=building.pk).exists()


def test_a_lived_in_room_is_not_deleted_and_b_is_out_of_reach(
    world: World, login, system: Actor
) -> None:  # type: ignore[no-untyped-def]
    building = do_generate_building(
        system, world.a, number="22", floors_above=1, units=1, rooms_per_floor=1
    )
    room = Room.objects.get(unit__building=building)
    do_start_residency(
        system, world.person_a, room, relation="owner", date_from=dt.date(2024, 1, 1)
    )
    c = login(world.manager_a)
    r = c.post(reverse("console:room_delete", args=[room.pk]), follow=True)
    assert "仍有居住" in r.content.decode()
    assert Room.objects.filter(pk=room.pk).exists()
    theirs = do_generate_building(
        system, world.b, number="B", floors_above=1, units=1, rooms_per_floor=1
    )
    assert c.get(reverse("console:building_edit", args=[theirs.pk])).status_code == 404
    assert c.post(reverse("console:building_delete", args=[theirs.pk])).status_code == 404
    guard = login(world.guard_a)
    assert guard.get(reverse("console:room_edit", args=[room.pk])).status_code == 403

"""Console pages that change places: generate a building, manage areas; tenants kept apart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import reverse
from django.utils import translation

from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.places.actions import do_create_area
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

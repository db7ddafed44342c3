"""Console rental registration: register with tenants (new or known), renew, end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from linli.core.tenancy import Actor
from linli.people.actions import do_start_residency
from linli.people.models import Person, PopulationChange, Residency, Tenancy
from linli.people.tenancies import do_register_tenancy
from linli.places.actions import do_generate_building
from linli.places.models import Room
from tests.conftest import World


@pytest.fixture(autouse=True)
def _forget_the_language() -> Iterator[None]:
    yield
    translation.deactivate()


@pytest.fixture
def room(world: World, system: Actor) -> Room:
    do_generate_building(system, world.a, number="5", floors_above=2, units=1, rooms_per_floor=1)
    room = Room.objects.get(unit__building__number="5", number="101", community=world.a)
    do_start_residency(
        system, world.person_a, room, relation="owner", date_from=dt.date(2020, 1, 1)
    )
    return room


def management(total: int) -> dict[str, str]:
    return {
        "tenant-TOTAL_FORMS": str(total),
        "tenant-INITIAL_FORMS": "0",
        "tenant-MIN_NUM_FORMS": "0",
        "tenant-MAX_NUM_FORMS": "20",
    }


def lease(world: World, **extra: str) -> dict[str, str]:
    today = timezone.localdate()
    return {
        "landlord": str(world.person_a.pk),
        "date_from": (today - dt.timedelta(days=10)).isoformat(),
        "date_to": (today + dt.timedelta(days=355)).isoformat(),
        "purpose": "residential",
        "note": "",
        **management(3),
        **extra,
    }


def test_register_a_rental_with_a_new_and_a_known_tenant(world: World, login, room: Room) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    url = reverse("console:tenancy_new", args=[room.pk])
    page = c.get(url).content.decode()
    assert "王芳" in page  # the owner is offered as landlord
    known = Person.objects.get(pk=world.person_b.pk)
    r = c.post(
        url,
        lease(
            world,
            **{
                "tenant-0-name": "陈租",
                "tenant-0-id_type": "resident_id",
                "tenant-0-id_number": "110105198001010016",
                "tenant-0-phone": "13912345678",
                "tenant-0-category": "floating",
                "tenant-1-name": "李强",
                "tenant-1-id_type": "resident_id",
                "tenant-1-id_number": "330106198503151238",
                "tenant-1-category": "floating",
            },
        ),
    )
    assert r.status_code == 302, r.content.decode()
    tenancy = Tenancy.objects.get(room=room)
    tenants = Residency.objects.filter(tenancy=tenancy)
    assert {t.person.name for t in tenants} == {"陈租", "李强"}
    assert known.pk in {t.person_id for t in tenants}, "a person another community knows is linked"
    assert PopulationChange.objects.filter(kind="tenancy_start").count() == 2
    assert "续租" in c.get(reverse("console:room", args=[room.pk])).content.decode()


def test_a_bad_tenant_row_writes_nothing(world: World, login, room: Room) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    r = c.post(
        reverse("console:tenancy_new", args=[room.pk]),
        lease(
            world,
            **{
                "tenant-0-name": "陈租",
                "tenant-0-id_type": "resident_id",
                "tenant-0-id_number": "110105198001010016",
                "tenant-0-category": "floating",
                "tenant-1-name": "错号",
                "tenant-1-id_type": "resident_id",
                "tenant-1-id_number": "110105198001010017",
                "tenant-1-category": "floating",
            },
        ),
    )
    assert r.status_code == 422 and "校验位错误" in r.content.decode()
    assert not Tenancy.objects.exists()
    assert not Person.objects.filter(name="陈租").exists(), "the first tenant was rolled back"


def test_a_lease_ending_before_it_starts_is_refused(world: World, login, room: Room) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    today = timezone.localdate()
    r = c.post(
        reverse("console:tenancy_new", args=[room.pk]),
        lease(world, date_to=(today - dt.timedelta(days=20)).isoformat()),
    )
    assert r.status_code == 422
    assert not Tenancy.objects.exists()


def test_renew_then_end(world: World, login, room: Room, system: Actor) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    tenancy = do_register_tenancy(
        system,
        room,
        landlord=world.person_a,
        tenants=[],
        date_from=today - dt.timedelta(days=30),
        date_to=today + dt.timedelta(days=10),
    )
    c = login(world.manager_a)
    earlier = c.post(
        reverse("console:tenancy_extend", args=[tenancy.pk]),
        {"date_to": (today + dt.timedelta(days=5)).isoformat()},
    )
    assert earlier.status_code in (409, 422)
    later = today + dt.timedelta(days=375)
    r = c.post(reverse("console:tenancy_extend", args=[tenancy.pk]), {"date_to": later.isoformat()})
    assert r.status_code == 302
    assert Tenancy.objects.get(pk=tenancy.pk).date_to == later
    r = c.post(reverse("console:tenancy_end", args=[tenancy.pk]), {"ended_on": today.isoformat()})
    assert r.status_code == 302
    assert Tenancy.objects.get(pk=tenancy.pk).ended_on == today


def test_rental_forms_keep_tenants_apart(world: World, login, system: Actor) -> None:  # type: ignore[no-untyped-def]
    do_generate_building(system, world.b, number="B", floors_above=1, units=1, rooms_per_floor=1)
    theirs = Room.objects.get(community=world.b)
    c = login(world.manager_a)
    assert c.get(reverse("console:tenancy_new", args=[theirs.pk])).status_code == 404
    do_generate_building(system, world.a, number="A", floors_above=1, units=1, rooms_per_floor=1)
    mine = Room.objects.get(community=world.a, unit__building__number="A")
    guard = login(world.guard_a)
    assert guard.get(reverse("console:tenancy_new", args=[mine.pk])).status_code == 403

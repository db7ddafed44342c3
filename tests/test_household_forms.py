"""Console forms for vehicles, care tags, household changes and resident accounts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.urls import reverse
from django.utils import translation

from linli.core.choices import Role
from linli.core.models import Grant
from linli.core.tenancy import Actor
from linli.people.actions import do_add_care_tag, do_register_person, do_start_residency
from linli.people.choices import Kinship
from linli.people.models import CareRecord, Household, PopulationChange, Residency, Vehicle
from linli.places.actions import do_generate_building
from linli.places.models import Room
from tests.conftest import World, make_user

DAY = dt.date(2024, 5, 1)


@pytest.fixture(autouse=True)
def _forget_the_language() -> Iterator[None]:
    yield
    translation.deactivate()


@pytest.fixture
def family(world: World, system: Actor) -> tuple[Residency, Residency]:
    do_generate_building(system, world.a, number="8", floors_above=1, units=1, rooms_per_floor=1)
    room = Room.objects.get(community=world.a, unit__building__number="8")
    spouse = do_register_person(system, world.a, name="张伟", id_number="110105198001010016")
    head = do_start_residency(system, world.person_a, room, relation="owner", date_from=DAY)
    member = do_start_residency(
        system, spouse, room, relation="family", date_from=DAY, kinship=Kinship.SPOUSE
    )
    return head, member


def test_vehicles_are_added_with_plate_errors_on_the_field(world: World, login) -> None:  # type: ignore[no-untyped-def]
    c = login(world.manager_a)
    url = reverse("console:vehicle_new", args=[world.person_a.pk])
    bad = c.post(url, {"plate": "京I12345"})
    assert bad.status_code == 422 and not Vehicle.objects.exists()
    assert c.post(url, {"plate": "浙ad12345", "description": "白色"}).status_code == 302
    vehicle = Vehicle.objects.get()
    assert vehicle.plate == "浙AD12345"
    dup = c.post(url, {"plate": "浙AD12345"})
    assert dup.status_code == 409
    page = c.get(reverse("console:person", args=[world.person_a.pk])).content.decode()
    assert "浙AD12345" in page
    c.post(reverse("console:vehicle_delete", args=[vehicle.pk]))
    assert not Vehicle.objects.exists()


def test_care_tags_need_the_care_role(world: World, login, system: Actor) -> None:  # type: ignore[no-untyped-def]
    committee = make_user(system, "committee-a", Role.COMMITTEE_OFFICER, world.a)
    c = login(committee)
    url = reverse("console:care_new", args=[world.person_a.pk])
    assert c.post(url, {"tag": "elderly_alone", "note": "独居"}).status_code == 302
    record = CareRecord.objects.get()
    assert "独居老人" in c.get(reverse("console:person", args=[world.person_a.pk])).content.decode()
    manager = login(world.manager_a)
    assert manager.get(url).status_code == 403, "a property manager may see tags, not add them"
    c = login(committee)
    c.post(reverse("console:care_delete", args=[record.pk]))
    assert not CareRecord.objects.exists()


def test_split_off_a_household_then_change_kinship_and_head(  # type: ignore[no-untyped-def]
    world: World, login, family: tuple[Residency, Residency]
) -> None:
    head, member = family
    c = login(world.manager_a)
    r = c.post(
        reverse("console:residency_household", args=[member.pk]),
        {"household": "new", "kinship": "", "occurred_on": "2024-06-01"},
    )
    assert r.status_code == 302, r.content.decode()
    member.refresh_from_db()
    assert member.household_id != head.household_id and member.kinship == Kinship.HEAD
    # and back into the first household, as spouse
    r = c.post(
        reverse("console:residency_household", args=[member.pk]),
        {"household": str(head.household_id), "kinship": "10", "occurred_on": "2024-07-01"},
    )
    assert r.status_code == 302
    member.refresh_from_db()
    assert member.household_id == head.household_id and member.kinship == Kinship.SPOUSE
    r = c.post(
        reverse("console:residency_kinship", args=[member.pk]),
        {"kinship": "99", "occurred_on": "2024-07-02"},
    )
    assert r.status_code == 302
    household = Household.objects.get(pk=head.household_id)
    r = c.post(
        reverse("console:household_head", args=[household.pk]),
        {"member": str(member.pk), "former_head_kinship": "10", "occurred_on": "2024-08-01"},
    )
    assert r.status_code == 302, r.content.decode()
    household.refresh_from_db()
    assert household.head_id == member.person_id
    changes = PopulationChange.objects.filter(kind="household_change").order_by("id")
    assert [c.details["change"] for c in changes] == ["transfer", "transfer", "kinship", "head"]


def test_moving_into_a_household_needs_a_kinship(  # type: ignore[no-untyped-def]
    world: World, login, family: tuple[Residency, Residency]
) -> None:
    head, member = family
    c = login(world.manager_a)
    c.post(
        reverse("console:residency_household", args=[member.pk]),
        {"household": "new", "occurred_on": "2024-06-01"},
    )
    r = c.post(
        reverse("console:residency_household", args=[member.pk]),
        {"household": str(head.household_id), "kinship": "", "occurred_on": "2024-07-01"},
    )
    assert r.status_code == 422 and "请选择与户主关系" in r.content.decode()


def test_open_a_resident_account_and_see_the_own_household(  # type: ignore[no-untyped-def]
    world: World, login, client, family: tuple[Residency, Residency]
) -> None:
    desk = make_user(Actor.system("test"), "desk-a", Role.FRONT_DESK, world.a)
    c = login(desk)  # the front desk opens accounts without holding grant.manage
    url = reverse("console:resident_account", args=[world.person_a.pk])
    weak = c.post(url, {"username": "wangfang", "password": "123"})
    assert weak.status_code == 422
    r = c.post(url, {"username": "wangfang", "password": "a-long-pass-2024"})
    assert r.status_code == 302
    grant = Grant.objects.get(user__username="wangfang")
    assert grant.role == Role.RESIDENT and grant.community_id == world.a.pk
    assert c.get(url).status_code == 409
    client.logout()
    assert client.login(username="wangfang", password="a-long-pass-2024")
    page = client.get(reverse("console:my_household")).content.decode()
    assert "张伟" in page and "110105" not in page


def test_household_forms_keep_tenants_apart(world: World, login, system: Actor) -> None:  # type: ignore[no-untyped-def]
    do_generate_building(system, world.b, number="B", floors_above=1, units=1, rooms_per_floor=1)
    room = Room.objects.get(community=world.b)
    theirs = do_start_residency(system, world.person_b, room, relation="owner", date_from=DAY)
    tag = do_add_care_tag(system, world.person_b, world.b, tag="disabled")
    c = login(world.manager_a)
    assert c.get(reverse("console:residency_kinship", args=[theirs.pk])).status_code == 404
    assert c.get(reverse("console:household_head", args=[theirs.household_id])).status_code == 404
    assert c.get(reverse("console:vehicle_new", args=[world.person_b.pk])).status_code == 404
    assert c.post(reverse("console:care_delete", args=[tag.pk])).status_code == 404
    assert CareRecord.objects.filter(pk=tag.pk).exists()

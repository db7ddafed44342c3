"""Population dynamic management (人口动态): every residency change leaves a record in a feed."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client

from linli.core import errors
from linli.core.actions import do_create_user, do_give_grant
from linli.core.choices import Role
from linli.core.tenancy import Actor
from linli.people.actions import do_end_residency, do_register_person, do_start_residency
from linli.people.choices import ChangeKind, ChangeSource, Relation
from linli.people.models import PopulationChange, Residency
from linli.places.actions import do_create_building, do_create_rooms, do_create_unit
from linli.places.models import Room
from tests.conftest import PASSWORD, World

DAY = dt.date(2026, 3, 1)


@pytest.fixture
def room(world: World, system: Actor) -> Room:
    building = do_create_building(system, world.a, number="1", floors_above=6)
    unit = do_create_unit(system, building, number="1")
    return do_create_rooms(system, unit, [("101", 1, Decimal("89"), "residential")])[0]


def kinds(world: World) -> list[str]:
    return list(
        PopulationChange.objects.filter(community=world.a)
        .order_by("id")
        .values_list("kind", flat=True)
    )


def test_move_in_and_out_are_recorded(world: World, room: Room) -> None:
    manager = Actor.for_user(world.manager_a)
    residency = do_start_residency(
        manager, world.person_a, room, relation=Relation.OWNER, date_from=DAY
    )
    do_end_residency(manager, residency, date_to=DAY + dt.timedelta(days=30))
    assert kinds(world) == [ChangeKind.MOVE_IN, ChangeKind.MOVE_OUT]
    change = PopulationChange.objects.filter(community=world.a).last()
    assert change is not None
    assert change.actor == world.manager_a and change.source == ChangeSource.CONSOLE
    assert change.occurred_on == DAY + dt.timedelta(days=30) and change.room_id == room.pk


def test_tenancy_start_and_end_are_recorded(world: World, room: Room, system: Actor) -> None:
    residency = do_start_residency(
        system,
        world.person_a,
        room,
        relation=Relation.TENANT,
        date_from=DAY,
        source=ChangeSource.IMPORT,
    )
    do_end_residency(system, residency, date_to=DAY)
    assert kinds(world) == [ChangeKind.TENANCY_START, ChangeKind.TENANCY_END]
    assert PopulationChange.objects.filter(source=ChangeSource.IMPORT).count() == 1


def test_bad_end_dates_are_refused_and_write_nothing(
    world: World, room: Room, system: Actor
) -> None:
    residency = do_start_residency(
        system, world.person_a, room, relation=Relation.OWNER, date_from=DAY
    )
    with pytest.raises(errors.ValidationFailed) as early:
        do_end_residency(system, residency, date_to=DAY - dt.timedelta(days=1))
    assert early.value.code == "date_to_before_from"
    do_end_residency(system, residency, date_to=DAY)
    with pytest.raises(errors.Conflict):
        do_end_residency(system, residency, date_to=DAY)
    assert kinds(world) == [ChangeKind.MOVE_IN, ChangeKind.MOVE_OUT]


def test_rolled_back_move_in_leaves_no_change(world: World, room: Room, system: Actor) -> None:
    def move_in_then_fail() -> None:
        with transaction.atomic():
            do_start_residency(system, world.person_a, room, relation="owner", date_from=DAY)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        move_in_then_fail()
    assert not PopulationChange.objects.exists() and not Residency.objects.exists()


def feed(client: Client, community_id: int, cursor: str = "", limit: int = 2):  # type: ignore[no-untyped-def]
    return client.get(
        f"/api/v1/communities/{community_id}/population-changes",
        {"cursor": cursor, "limit": limit},
    )


def test_feed_follows_every_change_once_with_a_cursor(
    world: World, room: Room, system: Actor, token_client
) -> None:  # type: ignore[no-untyped-def]
    people = [world.person_a] + [
        do_register_person(system, world.a, name=f"住户{i}", id_number=number)
        for i, number in enumerate(("110105198001010016", "330106198503151238"))
    ]
    for p in people:
        do_start_residency(system, p, room, relation=Relation.FAMILY, date_from=DAY)
    police = token_client(world.police_a)
    seen: list[int] = []
    cursor = ""
    for _ in range(5):
        page = json.loads(feed(police, world.a.pk, cursor).content)
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not page["items"]:
            break
    assert len(seen) == len(set(seen)) == 3
    assert seen == sorted(seen)
    # changes made later appear after the stored cursor, and only they: the household
    # head moving out makes the eldest remaining member head (a household change)
    residency = Residency.objects.filter(person=world.person_a).get()
    do_end_residency(system, residency, date_to=DAY)
    later = json.loads(feed(police, world.a.pk, cursor).content)
    assert [i["kind"] for i in later["items"]] == ["move_out", "household_change"]
    assert later["items"][1]["details"]["change"] == "head"
    item = later["items"][0]
    assert item["id_number_masked"] == "1101**********002X"
    assert "11010519491231002X" not in json.dumps(later)


@pytest.mark.parametrize("cursor", ["garbage", "cGM6LTE", "eHg6MQ"])
def test_forged_cursor_is_a_clear_error(world: World, token_client, cursor: str) -> None:  # type: ignore[no-untyped-def]
    response = feed(token_client(world.police_a), world.a.pk, cursor)
    assert response.status_code == 422
    assert json.loads(response.content)["code"] == "invalid_cursor"


def test_roles_without_population_view_are_refused(
    world: World, system: Actor, token_client
) -> None:  # type: ignore[no-untyped-def]
    tech = do_create_user(system, username="tech-a", password=PASSWORD)
    do_give_grant(system, community_id=world.a.pk, role=Role.TECHNICIAN, user=tech)
    assert feed(token_client(tech), world.a.pk).status_code == 403
    assert feed(token_client(world.guard_a), world.a.pk).status_code == 200


def test_console_lists_the_changes_of_the_current_community(  # type: ignore[no-untyped-def]
    world: World, room: Room, system: Actor, login, django_assert_max_num_queries
) -> None:
    residency = do_start_residency(
        system, world.person_a, room, relation=Relation.TENANT, date_from=DAY
    )
    do_end_residency(system, residency, date_to=DAY + dt.timedelta(days=1))
    client = login(world.police_a)
    with django_assert_max_num_queries(12):
        page = client.get("/population/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("王芳") == 2 and "租住开始" in html and "租住结束" in html
    assert "1号楼1单元101室" in html and "11010519491231002X" not in html
    only_end = client.get("/population/?kind=tenancy_end").content.decode()
    assert only_end.count("王芳") == 1


def test_console_population_page_needs_the_permission(  # type: ignore[no-untyped-def]
    world: World, system: Actor, login
) -> None:
    tech = do_create_user(system, username="tech-b", password=PASSWORD)
    do_give_grant(system, community_id=world.a.pk, role=Role.TECHNICIAN, user=tech)
    assert login(tech).get("/population/").status_code == 403

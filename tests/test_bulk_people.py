"""Bulk registration and move-in (for imports) follow the same rules as the single actions."""

from __future__ import annotations

import datetime as dt

import pytest

from linli.core import errors
from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.people.actions import (
    MoveIn,
    NewPerson,
    do_register_people,
    do_register_person,
    do_start_residencies,
    do_start_residency,
)
from linli.people.choices import ChangeSource, Kinship
from linli.people.models import Household, Membership, Person, PopulationChange, Residency
from linli.places.actions import do_generate_building
from linli.places.models import Room
from tests.conftest import World

DAY = dt.date(2024, 3, 1)
IDS = ("110105198001010016", "110105198202020026", "110105199003030031")


@pytest.fixture
def rooms(world: World, system: Actor) -> list[Room]:
    do_generate_building(system, world.a, number="2", floors_above=1, units=1, rooms_per_floor=3)
    return list(
        Room.objects.filter(community=world.a, unit__building__number="2").order_by("number")
    )


def people(system: Actor, world: World) -> list[Person]:
    return do_register_people(
        system,
        world.a,
        [NewPerson(f"住户{i}", "resident_id", n, phone="13800000000") for i, n in enumerate(IDS)],
    )


def test_bulk_registration_matches_the_single_action(world: World, system: Actor) -> None:
    made = people(system, world)
    assert [p.name for p in made] == ["住户0", "住户1", "住户2"]
    assert all(p.pk and p.birth_date and p.id_number_masked.startswith("1101") for p in made)
    assert Membership.objects.filter(community=world.a, person__in=made).count() == 3
    assert AuditLog.objects.filter(action="people.person.register").count() == 3 + 2  # + world
    with pytest.raises(errors.Conflict) as caught:
        do_register_people(system, world.a, [NewPerson("又一个", "resident_id", IDS[0])])
    assert caught.value.code == "duplicate_id_number"


def test_bulk_registration_links_people_of_another_community(world: World, system: Actor) -> None:
    (linked,) = do_register_people(
        system, world.a, [NewPerson("李强", "resident_id", "330106198503151238")]
    )
    assert linked.pk == world.person_b.pk
    assert AuditLog.objects.filter(action="people.person.link", object_id=str(linked.pk)).exists()


def test_a_bad_entry_writes_nothing(world: World, system: Actor) -> None:
    before = Person.objects.count()
    with pytest.raises(errors.ValidationFailed):
        do_register_people(
            system,
            world.a,
            [NewPerson("好人", "resident_id", IDS[0]), NewPerson("", "resident_id", IDS[1])],
        )
    assert Person.objects.count() == before


def test_bulk_move_in_makes_households_and_changes_like_the_single_action(
    world: World, system: Actor, rooms: list[Room]
) -> None:
    a, b, c = people(system, world)
    made = do_start_residencies(
        system,
        world.a,
        [
            MoveIn(a, rooms[0], "owner", DAY),
            MoveIn(b, rooms[0], "family", DAY, kinship=Kinship.SPOUSE),
            MoveIn(c, rooms[1], "tenant", DAY, category="floating"),
        ],
        source=ChangeSource.IMPORT,
    )
    assert [r.kinship for r in made] == [Kinship.HEAD, Kinship.SPOUSE, Kinship.HEAD]
    assert made[0].household_id == made[1].household_id != made[2].household_id
    assert Household.objects.get(pk=made[0].household_id).head_id == a.pk
    kinds = list(
        PopulationChange.objects.filter(source="import")
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["move_in", "move_in", "tenancy_start"]
    assert AuditLog.objects.filter(action="people.residency.start").count() == 3
    # a later single move-in joins the household the bulk action made
    extra = do_register_person(system, world.a, name="孩子", id_number="110105201001010010")
    child = do_start_residency(
        system, extra, rooms[0], relation="family", date_from=DAY, kinship=Kinship.SON
    )
    assert child.household_id == made[0].household_id


@pytest.mark.parametrize(
    ("moves", "code"),
    [
        (
            lambda p, r: [MoveIn(p[0], r[0], "owner", DAY), MoveIn(p[1], r[0], "owner", DAY)],
            "owner_overlap",
        ),
        (
            lambda p, r: [MoveIn(p[0], r[0], "owner", DAY), MoveIn(p[0], r[0], "family", DAY)],
            "residency_overlap",
        ),
        (
            lambda p, r: [
                MoveIn(p[0], r[0], "owner", DAY),
                MoveIn(p[1], r[0], "family", DAY, kinship="02"),
            ],
            "household_has_head",
        ),
        (lambda p, r: [MoveIn(p[0], r[0], "landlord", DAY)], "validation_error"),
    ],
)
def test_bulk_move_in_refuses_what_the_single_action_refuses(  # type: ignore[no-untyped-def]
    world: World, system: Actor, rooms: list[Room], moves, code: str
) -> None:
    made = people(system, world)
    with pytest.raises(errors.LinliError) as caught:
        do_start_residencies(system, world.a, moves(made, rooms), source=ChangeSource.IMPORT)
    assert caught.value.code == code
    assert not Residency.objects.filter(room__in=rooms).exists()
    assert not Household.objects.filter(room__in=rooms).exists()


def test_bulk_move_in_checks_existing_residents_and_joint_owners(
    world: World, system: Actor, rooms: list[Room]
) -> None:
    a, b, _c = people(system, world)
    do_start_residency(system, a, rooms[2], relation="owner", date_from=DAY)
    with pytest.raises(errors.Conflict):
        do_start_residencies(system, world.a, [MoveIn(b, rooms[2], "owner", DAY)], source="import")
    (joint,) = do_start_residencies(
        system, world.a, [MoveIn(b, rooms[2], "owner", DAY, joint_owner=True)], source="import"
    )
    assert joint.household_id == Residency.objects.get(person=a).household_id


def test_bulk_move_in_keeps_tenants_apart(world: World, system: Actor, rooms: list[Room]) -> None:
    manager_b = Actor.for_user(world.manager_b)
    with pytest.raises(errors.NotFound):
        do_start_residencies(
            manager_b, world.b, [MoveIn(world.person_b, rooms[0], "owner", DAY)], source="import"
        )
    with pytest.raises(errors.LinliError):
        do_start_residencies(
            Actor.for_user(world.manager_a),
            world.a,
            [MoveIn(world.person_b, rooms[0], "owner", DAY)],
            source="import",
        )
    assert not Residency.objects.filter(room__in=rooms).exists()

"""Residencies and households (户): overlap rules, heads, kinship, and a population change for
every kind of move."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from stdnum.cn import ric

from linli.core import errors
from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.people import actions, selectors
from linli.people.choices import ChangeKind, Kinship, Relation
from linli.people.models import Household, Person, PopulationChange, Residency
from linli.people.tenancies import do_end_tenancy, do_register_tenancy
from linli.places.actions import do_create_building, do_create_rooms, do_create_unit
from linli.places.models import Room
from tests.conftest import World

DAY = dt.date(2026, 3, 1)
LATER = dt.date(2026, 9, 1)


def rid(n: int, year: int = 1980) -> str:
    body = f"110105{year}{1 + n // 28:02d}{1 + n % 28:02d}00{n % 10}"
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture
def rooms(world: World, system: Actor) -> list[Room]:
    building = do_create_building(system, world.a, number="1", floors_above=6)
    unit = do_create_unit(system, building, number="1")
    return do_create_rooms(
        system, unit, [("101", 1, Decimal("89"), "residential"), ("102", 1, None, "residential")]
    )


@pytest.fixture
def family(world: World, system: Actor) -> list[Person]:
    """A father (born 1950), a mother (1952) and a son (1980) in community A."""
    return [
        actions.do_register_person(system, world.a, name=name, id_number=rid(i, year))
        for i, (name, year) in enumerate((("周建国", 1950), ("吴秀英", 1952), ("周明", 1980)))
    ]


def written() -> tuple[int, int, int, int]:
    return (
        Residency.objects.count(),
        Household.objects.count(),
        PopulationChange.objects.count(),
        AuditLog.objects.count(),
    )


def move_in(
    actor: Actor, person: Person, room: Room, relation: str = Relation.OWNER, **kw: object
) -> Residency:
    kw.setdefault("date_from", DAY)
    return actions.do_start_residency(actor, person, room, relation=relation, **kw)  # type: ignore[arg-type]


def test_a_room_has_one_owner_unless_joint_owners(
    world: World, system: Actor, rooms: list[Room], family: list[Person]
) -> None:
    manager = Actor.for_user(world.manager_a)
    move_in(manager, family[0], rooms[0])
    before = written()
    with pytest.raises(errors.Conflict) as caught:
        actions.do_start_residency(
            manager, family[1], rooms[0], relation=Relation.OWNER, date_from=LATER
        )
    assert caught.value.code == "owner_overlap"
    assert written() == before
    joint = move_in(manager, family[1], rooms[0], joint_owner=True, kinship=Kinship.SPOUSE)
    assert joint.relation == Relation.OWNER and joint.household == Household.objects.get()
    move_in(manager, family[2], rooms[1])  # another room's owner is no clash


def test_an_owner_who_moved_out_leaves_the_room_to_the_next(
    world: World, system: Actor, rooms: list[Room], family: list[Person]
) -> None:
    first = move_in(system, family[0], rooms[0])
    actions.do_end_residency(system, first, date_to=LATER)
    actions.do_start_residency(
        system, family[1], rooms[0], relation=Relation.OWNER, date_from=LATER
    )
    with pytest.raises(errors.Conflict):
        actions.do_start_residency(
            system,
            family[2],
            rooms[0],
            relation=Relation.OWNER,
            date_from=LATER - dt.timedelta(days=1),
        )


def test_the_same_person_cannot_live_twice_in_one_room(
    world: World, system: Actor, rooms: list[Room], family: list[Person]
) -> None:
    residency = move_in(system, family[0], rooms[0], relation=Relation.FAMILY)
    before = written()
    with pytest.raises(errors.Conflict) as caught:
        actions.do_start_residency(
            system, family[0], rooms[0], relation=Relation.TENANT, date_from=LATER
        )
    assert caught.value.code == "residency_overlap"
    assert written() == before
    actions.do_end_residency(system, residency, date_to=LATER)
    actions.do_start_residency(
        system, family[0], rooms[0], relation=Relation.FAMILY, date_from=LATER
    )
    move_in(system, family[0], rooms[1])  # two rooms at once is allowed (a second home)


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"relation": "lodger"}, "validation_error"),
        ({"category": "alien"}, "validation_error"),
        ({"kinship": "77"}, "validation_error"),
        ({"source": "fax"}, "validation_error"),
    ],
)
def test_unknown_codes_are_refused(
    world: World,
    system: Actor,
    rooms: list[Room],
    family: list[Person],
    values: dict[str, str],
    code: str,
) -> None:
    kw: dict[str, object] = {"relation": Relation.OWNER, "date_from": DAY, **values}
    with pytest.raises(errors.ValidationFailed) as caught:
        actions.do_start_residency(system, family[0], rooms[0], **kw)  # type: ignore[arg-type]
    assert caught.value.code == code and set(caught.value.details) == set(values)
    assert written()[:3] == (0, 0, 0)


def test_a_person_of_another_community_cannot_move_into_a_room(
    world: World, rooms: list[Room]
) -> None:
    with pytest.raises(errors.NotFound):
        move_in(Actor.for_user(world.manager_a), world.person_b, rooms[0])
    with pytest.raises(errors.NotFound):
        move_in(Actor.for_user(world.manager_b), world.person_b, rooms[0])
    assert not Residency.objects.exists()


def test_households_form_on_their_own(
    world: World, system: Actor, rooms: list[Room], family: list[Person]
) -> None:
    head = move_in(system, family[0], rooms[0])
    wife = move_in(system, family[1], rooms[0], relation=Relation.FAMILY, kinship=Kinship.SPOUSE)
    son = move_in(system, family[2], rooms[0], relation=Relation.FAMILY, kinship=Kinship.SON)
    household = Household.objects.get()
    assert household.head == family[0] and household.created_on == DAY
    assert (head.kinship, wife.household, son.household) == (Kinship.HEAD, household, household)
    shown = selectors.get_household(Actor.for_user(world.manager_a), household.pk)
    assert [m.person for m in shown.members] == family  # type: ignore[attr-defined]
    with pytest.raises(errors.ValidationFailed) as caught:
        move_in(system, world.person_a, rooms[0], relation=Relation.FAMILY, kinship=Kinship.HEAD)
    assert caught.value.code == "household_has_head"
    with pytest.raises(errors.ValidationFailed) as other_room:
        move_in(system, world.person_a, rooms[1], household=household)
    assert other_room.value.code == "household_mismatch"


def test_every_kind_of_move_is_a_population_change(
    world: World, system: Actor, rooms: list[Room], family: list[Person]
) -> None:
    manager = Actor.for_user(world.manager_a)
    father = move_in(manager, family[0], rooms[0])
    mother = move_in(manager, family[1], rooms[0], relation=Relation.FAMILY, kinship=Kinship.SPOUSE)
    son = move_in(manager, family[2], rooms[0], relation=Relation.FAMILY, kinship=Kinship.SON)
    household = Household.objects.get()
    # kinship corrected, son splits off, mother becomes head, then father (former head) leaves
    actions.do_set_kinship(manager, son, kinship=Kinship.OTHER_RELATIVE, occurred_on=LATER)
    actions.do_change_household(manager, son, household=None, kinship="", occurred_on=LATER)
    actions.do_set_household_head(
        manager, household, mother, former_head_kinship=Kinship.SPOUSE, occurred_on=LATER
    )
    actions.do_change_household(
        manager, son, household=household, kinship=Kinship.SON, occurred_on=LATER
    )
    actions.do_end_residency(manager, mother, date_to=dt.date(2026, 10, 1))  # the head leaves
    tenancy = do_register_tenancy(
        manager,
        rooms[1],
        landlord=family[2],
        tenants=[(world.person_a, "floating")],
        date_from=DAY,
        date_to=dt.date(2027, 3, 1),
    )
    do_end_tenancy(manager, tenancy, ended_on=dt.date(2026, 12, 1))
    changes = list(PopulationChange.objects.order_by("id"))
    assert [(c.kind, c.details.get("change")) for c in changes] == [
        (ChangeKind.MOVE_IN, None),
        (ChangeKind.MOVE_IN, None),
        (ChangeKind.MOVE_IN, None),
        (ChangeKind.HOUSEHOLD_CHANGE, "kinship"),
        (ChangeKind.HOUSEHOLD_CHANGE, "transfer"),  # 分户
        (ChangeKind.HOUSEHOLD_CHANGE, "head"),
        (ChangeKind.HOUSEHOLD_CHANGE, "transfer"),  # back, which dissolves his own
        (ChangeKind.MOVE_OUT, None),
        (ChangeKind.HOUSEHOLD_CHANGE, "head"),  # promotion: the head left
        (ChangeKind.TENANCY_START, None),
        (ChangeKind.TENANCY_END, None),
    ]
    assert {c.actor for c in changes} == {world.manager_a}
    promoted = changes[8]
    assert promoted.person == family[0] and promoted.details["former_head_id"] == family[1].pk
    household.refresh_from_db()
    assert household.head == family[0], "the owner takes over before the younger son"
    assert changes[4].details["former_household_id"] == household.pk
    father.refresh_from_db()
    assert father.kinship == Kinship.HEAD


def test_the_eldest_takes_over_when_no_owner_remains(
    world: World, system: Actor, rooms: list[Room], family: list[Person]
) -> None:
    son = move_in(system, family[2], rooms[0], relation=Relation.TENANT)
    move_in(system, family[1], rooms[0], relation=Relation.TENANT, kinship=Kinship.PARENT)
    move_in(system, family[0], rooms[0], relation=Relation.TENANT, kinship=Kinship.PARENT)
    actions.do_end_residency(system, son, date_to=LATER)
    assert Household.objects.get().head == family[0]


def test_the_last_to_leave_dissolves_the_household(
    world: World, system: Actor, rooms: list[Room], family: list[Person]
) -> None:
    residency = move_in(system, family[0], rooms[0])
    actions.do_end_residency(system, residency, date_to=LATER)
    household = Household.objects.get()
    assert household.dissolved_on == LATER
    assert not PopulationChange.objects.filter(kind=ChangeKind.HOUSEHOLD_CHANGE).exists()
    again = move_in(system, family[1], rooms[0], relation=Relation.OWNER, date_from=LATER)
    assert again.household != household, "a dissolved household is never joined again"


def test_household_refusals_write_nothing(
    world: World, system: Actor, rooms: list[Room], family: list[Person]
) -> None:
    head = move_in(system, family[0], rooms[0])
    wife = move_in(system, family[1], rooms[0], relation=Relation.FAMILY, kinship=Kinship.SPOUSE)
    elsewhere = move_in(system, family[2], rooms[1])
    household = head.household
    assert household is not None
    before = written()
    refusals: list[tuple[object, type, str]] = [
        (
            lambda: actions.do_set_kinship(system, head, kinship=Kinship.SON, occurred_on=LATER),
            errors.ValidationFailed,
            "is_head",
        ),
        (
            lambda: actions.do_set_kinship(system, wife, kinship=Kinship.HEAD, occurred_on=LATER),
            errors.ValidationFailed,
            "validation_error",
        ),
        (
            lambda: actions.do_set_household_head(
                system, household, head, former_head_kinship=Kinship.SON, occurred_on=LATER
            ),
            errors.Conflict,
            "household_unchanged",
        ),
        (
            lambda: actions.do_set_household_head(
                system, household, elsewhere, former_head_kinship=Kinship.SON, occurred_on=LATER
            ),
            errors.ValidationFailed,
            "not_a_member",
        ),
        (
            lambda: actions.do_set_household_head(
                system, household, wife, former_head_kinship=Kinship.HEAD, occurred_on=LATER
            ),
            errors.ValidationFailed,
            "validation_error",
        ),
        (
            lambda: actions.do_change_household(
                system, wife, household=household, kinship=Kinship.SPOUSE, occurred_on=LATER
            ),
            errors.Conflict,
            "household_unchanged",
        ),
        (
            lambda: actions.do_change_household(
                system, elsewhere, household=None, kinship="", occurred_on=LATER
            ),
            errors.Conflict,
            "household_unchanged",
        ),
        (
            lambda: actions.do_change_household(
                system, elsewhere, household=household, kinship=Kinship.SON, occurred_on=LATER
            ),
            errors.ValidationFailed,
            "household_mismatch",
        ),
        (
            lambda: actions.do_change_household(
                Actor.for_user(world.guard_a), wife, household=None, kinship="", occurred_on=LATER
            ),
            errors.PermissionDenied,
            "permission_denied",
        ),
        (
            lambda: actions.do_set_kinship(
                Actor.for_user(world.manager_b), wife, kinship=Kinship.SON, occurred_on=LATER
            ),
            errors.NotFound,
            "not_found",
        ),
    ]
    for attempt, error, code in refusals:
        with pytest.raises(error) as caught:  # type: ignore[call-overload]
            attempt()  # type: ignore[operator]
        assert caught.value.code == code
    assert written() == before
    actions.do_end_residency(system, wife, date_to=LATER)
    with pytest.raises(errors.Conflict) as ended:
        actions.do_set_kinship(system, wife, kinship=Kinship.SON, occurred_on=LATER)
    assert ended.value.code == "residency_already_ended"

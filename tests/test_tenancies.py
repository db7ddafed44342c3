"""Rental registration (出租屋登记): tenants move in and out with the tenancy; leases remind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from stdnum.cn import ric

from linli.core import errors, events, worker
from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.people import tasks
from linli.people.actions import do_register_person, do_start_residency
from linli.people.choices import ChangeKind, ChangeSource, Kinship, Relation
from linli.people.events import ResidencyEnded, ResidencyStarted, TenancyExpiring
from linli.people.models import Household, Person, PopulationChange, Residency, Tenancy
from linli.people.selectors import list_tenancies
from linli.people.tenancies import (
    do_add_tenant,
    do_end_tenancy,
    do_extend_tenancy,
    do_register_tenancy,
)
from linli.places.actions import do_create_building, do_create_rooms, do_create_unit
from linli.places.models import Room
from tests.conftest import World

DAY = dt.date(2026, 3, 1)
YEAR_LATER = dt.date(2027, 3, 1)


def rid(n: int) -> str:
    """Return a valid resident ID number, different for each ``n`` below 300."""
    body = f"1101051980{1 + n // 28:02d}{1 + n % 28:02d}00{n % 10}"
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture
def rooms(world: World, system: Actor) -> list[Room]:
    building = do_create_building(system, world.a, number="1", floors_above=6)
    unit = do_create_unit(system, building, number="1")
    specs = [(f"{f}01", f, Decimal("89"), "residential") for f in (1, 2, 3)]
    return do_create_rooms(system, unit, specs)


@pytest.fixture
def people(world: World, system: Actor) -> list[Person]:
    """Three people of community A (besides ``world.person_a``, the landlord)."""
    return [
        do_register_person(system, world.a, name=name, id_number=rid(i))
        for i, name in enumerate(("张伟", "李娜", "陈杰"))
    ]


def rows() -> tuple[int, int, int, int, int]:
    return (
        Tenancy.objects.count(),
        Residency.objects.count(),
        PopulationChange.objects.count(),
        Household.objects.count(),
        AuditLog.objects.count(),
    )


def register(actor: Actor, room: Room, world: World, who: list[Person], **kw: object) -> Tenancy:
    """Register a year's rental of ``room`` to ``who`` from ``world.person_a``; ``kw`` overrides."""
    values: dict[str, object] = {
        "landlord": world.person_a,
        "tenants": [(p, "floating") for p in who],
        "date_from": DAY,
        "date_to": YEAR_LATER,
    }
    values.update(kw)
    return do_register_tenancy(actor, room, **values)  # type: ignore[arg-type]


@pytest.fixture
def published() -> Iterator[list[object]]:
    """Collect the people events dispatched during a test (after commit only)."""
    seen: list[object] = []
    types = (ResidencyStarted, ResidencyEnded, TenancyExpiring)
    for t in types:
        events.handles(t)(seen.append)
    yield seen
    for t in types:
        events._handlers[t].remove(seen.append)


def test_registration_moves_the_tenants_in(
    world: World,
    rooms: list[Room],
    people: list[Person],
    published: list[object],
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    manager = Actor.for_user(world.manager_a)
    with django_capture_on_commit_callbacks(execute=True):
        tenancy = register(manager, rooms[0], world, people[:2], note="整租")
        assert published == [], "nothing is announced before commit"
    assert tenancy.landlord == world.person_a and tenancy.ended_on is None
    residencies = list(Residency.objects.filter(tenancy=tenancy).order_by("pk"))
    assert [r.person for r in residencies] == people[:2]
    assert {r.relation for r in residencies} == {Relation.TENANT}
    assert {r.category for r in residencies} == {"floating"}
    changes = PopulationChange.objects.filter(residency__tenancy=tenancy)
    assert [c.kind for c in changes] == [ChangeKind.TENANCY_START] * 2
    assert {c.actor for c in changes} == {world.manager_a}
    household = Household.objects.get(room=rooms[0])
    assert household.head == people[0]
    assert [r.household for r in residencies] == [household, household]
    assert residencies[0].kinship == Kinship.HEAD
    assert AuditLog.objects.filter(action="people.tenancy.register", actor=world.manager_a).exists()
    assert [type(e) for e in published] == [ResidencyStarted, ResidencyStarted]


Refusal = tuple[str, Callable[[World, list[Room], list[Person]], dict[str, object]], type, str]

REFUSALS: dict[str, Refusal] = {
    "lease ends on its start": (
        "a",
        lambda w, r, p: {"date_to": DAY},
        errors.ValidationFailed,
        "date_to_not_after_from",
    ),
    "lease ends before its start": (
        "a",
        lambda w, r, p: {"date_to": DAY - dt.timedelta(days=1)},
        errors.ValidationFailed,
        "date_to_not_after_from",
    ),
    "unknown purpose": ("a", lambda w, r, p: {"purpose": "hotel"}, errors.ValidationFailed, ""),
    "unknown category": (
        "a",
        lambda w, r, p: {"tenants": [(p[0], "nomad")]},
        errors.ValidationFailed,
        "",
    ),
    "tenant listed twice": (
        "a",
        lambda w, r, p: {"tenants": [(p[0], "floating"), (p[0], "floating")]},
        errors.ValidationFailed,
        "duplicate_tenant",
    ),
    "landlord of another community": (
        "a",
        lambda w, r, p: {"landlord": w.person_b},
        errors.NotFound,
        "not_found",
    ),
    "tenant of another community": (
        "a",
        lambda w, r, p: {"tenants": [(p[0], "floating"), (w.person_b, "floating")]},
        errors.NotFound,
        "not_found",
    ),
    # the first tenant's residency is written before the second one's rule breaks
    "tenant already living there": (
        "lives",
        lambda w, r, p: {"tenants": [(p[0], "floating"), (p[1], "floating")]},
        errors.Conflict,
        "residency_overlap",
    ),
    "room already let": (
        "let",
        lambda w, r, p: {
            "date_from": YEAR_LATER - dt.timedelta(days=1),
            "date_to": dt.date(2028, 1, 1),
        },
        errors.Conflict,
        "tenancy_overlap",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refused_registrations_write_nothing(
    world: World, system: Actor, rooms: list[Room], people: list[Person], name: str
) -> None:
    setup, values, error, code = REFUSALS[name]
    if setup == "lives":
        do_start_residency(system, people[1], rooms[0], relation=Relation.TENANT, date_from=DAY)
    if setup == "let":
        register(system, rooms[0], world, [people[2]])
    before = rows()
    with pytest.raises(error) as caught:
        register(
            Actor.for_user(world.manager_a),
            rooms[0],
            world,
            people[:1],
            **values(world, rooms, people),
        )
    if code:
        assert caught.value.code == code
    assert rows() == before


def test_a_guard_cannot_register(world: World, rooms: list[Room], people: list[Person]) -> None:
    with pytest.raises(errors.PermissionDenied):
        register(Actor.for_user(world.guard_a), rooms[0], world, people[:1])
    assert not Tenancy.objects.exists()


def test_an_overdue_open_tenancy_still_holds_the_room_until_it_ends(
    world: World, system: Actor, rooms: list[Room], people: list[Person]
) -> None:
    first = register(system, rooms[0], world, [people[0]])
    later = {"date_from": dt.date(2027, 6, 1), "date_to": dt.date(2028, 6, 1)}
    with pytest.raises(errors.Conflict):
        register(system, rooms[0], world, [people[1]], **later)
    do_end_tenancy(system, first, ended_on=dt.date(2027, 5, 1))
    register(system, rooms[0], world, [people[1]], **later)
    with pytest.raises(errors.Conflict) as caught:
        register(
            system,
            rooms[0],
            world,
            [people[2]],
            date_from=dt.date(2027, 4, 1),
            date_to=dt.date(2027, 5, 15),
        )
    assert caught.value.code == "tenancy_overlap", "an ended tenancy still covers its months"
    register(system, rooms[1], world, [people[2]], **later)  # other rooms are free


def test_a_tenant_joins_the_tenancy_household(
    world: World, system: Actor, rooms: list[Room], people: list[Person]
) -> None:
    tenancy = register(system, rooms[0], world, [people[0]])
    joined = do_add_tenant(
        system, tenancy, people[1], date_from=DAY + dt.timedelta(days=10), kinship=Kinship.SPOUSE
    )
    head = Residency.objects.get(tenancy=tenancy, person=people[0])
    assert joined.household == head.household and joined.kinship == Kinship.SPOUSE
    assert joined.relation == Relation.TENANT and joined.tenancy == tenancy
    assert PopulationChange.objects.filter(residency=joined, kind=ChangeKind.TENANCY_START).exists()


@pytest.mark.parametrize(
    ("date_from", "code"),
    [(DAY - dt.timedelta(days=1), "date_outside_tenancy"), (YEAR_LATER, "date_outside_tenancy")],
)
def test_a_tenant_outside_the_lease_is_refused(
    world: World,
    system: Actor,
    rooms: list[Room],
    people: list[Person],
    date_from: dt.date,
    code: str,
) -> None:
    tenancy = register(system, rooms[0], world, [people[0]])
    before = rows()
    with pytest.raises(errors.ValidationFailed) as caught:
        do_add_tenant(system, tenancy, people[1], date_from=date_from)
    assert caught.value.code == code
    assert rows() == before


def test_renewal_moves_the_lease_end_and_restarts_reminders(
    world: World, system: Actor, rooms: list[Room], people: list[Person]
) -> None:
    tenancy = register(system, rooms[0], world, [people[0]])
    tasks.send_tenancy_reminders(YEAR_LATER - dt.timedelta(days=5))
    tenancy.refresh_from_db()
    assert tenancy.reminded_on is not None
    manager = Actor.for_user(world.manager_a)
    do_extend_tenancy(manager, tenancy, date_to=dt.date(2028, 3, 1), note="续租一年")
    tenancy.refresh_from_db()
    assert (tenancy.date_to, tenancy.reminded_on, tenancy.note) == (
        dt.date(2028, 3, 1),
        None,
        "续租一年",
    )
    row = AuditLog.objects.get(action="people.tenancy.extend")
    assert row.changes["date_to"] == ["2027-03-01", "2028-03-01"]
    with pytest.raises(errors.ValidationFailed) as caught:
        do_extend_tenancy(manager, tenancy, date_to=dt.date(2028, 3, 1))
    assert caught.value.code == "date_to_not_later"


def test_renewal_cannot_run_into_the_next_tenancy(
    world: World, system: Actor, rooms: list[Room], people: list[Person]
) -> None:
    nxt = {"date_from": dt.date(2027, 6, 1), "date_to": dt.date(2028, 6, 1)}
    register(system, rooms[0], world, [people[1]], **nxt)
    current = register(system, rooms[0], world, [people[0]])  # ends 2027-03-01
    with pytest.raises(errors.Conflict) as caught:
        do_extend_tenancy(system, current, date_to=dt.date(2027, 9, 1))
    assert caught.value.code == "tenancy_overlap"
    do_extend_tenancy(system, current, date_to=dt.date(2027, 6, 1))
    do_end_tenancy(system, current, ended_on=dt.date(2027, 5, 31))
    with pytest.raises(errors.Conflict) as ended:
        do_extend_tenancy(system, current, date_to=dt.date(2027, 7, 1))
    assert ended.value.code == "tenancy_ended"


def test_ending_the_tenancy_moves_every_tenant_out(
    world: World,
    system: Actor,
    rooms: list[Room],
    people: list[Person],
    published: list[object],
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    tenancy = register(system, rooms[0], world, people[:2])
    do_add_tenant(system, tenancy, people[2], date_from=DAY + dt.timedelta(days=3))
    household = Household.objects.get(room=rooms[0])
    published.clear()
    end = dt.date(2026, 12, 31)
    with django_capture_on_commit_callbacks(execute=True):
        do_end_tenancy(Actor.for_user(world.manager_a), tenancy, ended_on=end)
    tenancy.refresh_from_db()
    assert tenancy.ended_on == end
    assert set(Residency.objects.filter(tenancy=tenancy).values_list("date_to", flat=True)) == {end}
    ends = PopulationChange.objects.filter(kind=ChangeKind.TENANCY_END)
    assert sorted(c.person_id for c in ends) == sorted(p.pk for p in people)
    assert not PopulationChange.objects.filter(kind=ChangeKind.HOUSEHOLD_CHANGE).exists(), (
        "a household leaving together is dissolved, not handed from one leaver to another"
    )
    household.refresh_from_db()
    assert household.dissolved_on == end
    assert [type(e) for e in published] == [ResidencyEnded] * 3
    assert AuditLog.objects.filter(action="people.tenancy.end").count() == 1
    with pytest.raises(errors.Conflict) as again:
        do_end_tenancy(system, tenancy, ended_on=end)
    assert again.value.code == "tenancy_ended"
    with pytest.raises(errors.Conflict):
        do_add_tenant(system, tenancy, world.person_a, date_from=DAY)


def test_ending_before_a_tenant_arrived_is_refused_whole(
    world: World, system: Actor, rooms: list[Room], people: list[Person]
) -> None:
    tenancy = register(system, rooms[0], world, [people[0]])
    do_add_tenant(system, tenancy, people[1], date_from=DAY + dt.timedelta(days=60))
    before = rows()
    with pytest.raises(errors.ValidationFailed) as caught:
        do_end_tenancy(system, tenancy, ended_on=DAY + dt.timedelta(days=30))
    assert caught.value.code == "date_to_before_from"
    assert rows() == before
    assert Residency.objects.filter(tenancy=tenancy, date_to__isnull=True).count() == 2
    with pytest.raises(errors.ValidationFailed):
        do_end_tenancy(system, tenancy, ended_on=DAY - dt.timedelta(days=1))


def test_lists_filter_open_expiring_and_overdue(
    world: World, system: Actor, rooms: list[Room], people: list[Person]
) -> None:
    today = dt.date(2027, 2, 10)
    expiring = register(system, rooms[0], world, [people[0]])  # ends 2027-03-01: 19 days
    overdue = register(system, rooms[1], world, [people[1]], date_to=dt.date(2027, 2, 1))
    later = register(system, rooms[2], world, [people[2]], date_to=dt.date(2028, 1, 1))
    manager = Actor.for_user(world.manager_a)

    def ids(**kw: object) -> list[int]:
        return [t.pk for t in list_tenancies(manager, today=today, **kw)]  # type: ignore[arg-type]

    assert ids(status="expiring") == [expiring.pk]
    assert ids(status="expiring", within_days=10) == []
    assert ids(status="overdue") == [overdue.pk]
    assert ids(status="open") == [overdue.pk, expiring.pk, later.pk]
    assert ids(status="ended") == []
    assert ids(room_id=rooms[2].pk) == [later.pk]
    with pytest.raises(errors.ValidationFailed):
        ids(status="soon")
    assert list_tenancies(Actor.for_user(world.manager_b)).count() == 0


# -- expiry reminders ----------------------------------------------------------------------


def test_reminders_at_30_days_7_days_and_overdue_once_each(
    world: World,
    system: Actor,
    rooms: list[Room],
    people: list[Person],
    published: list[object],
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    tenancy = register(system, rooms[0], world, [people[0]], date_to=dt.date(2026, 6, 30))
    published.clear()
    schedule = {
        dt.date(2026, 5, 30): 0,  # 31 days left
        dt.date(2026, 5, 31): 1,  # 30 days left
        dt.date(2026, 6, 1): 0,
        dt.date(2026, 6, 23): 1,  # 7 days left
        dt.date(2026, 6, 30): 0,  # the last day is not overdue yet
        dt.date(2026, 7, 1): 1,  # overdue
        dt.date(2026, 8, 1): 0,
    }
    for day, expected in schedule.items():
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.send_tenancy_reminders(day) == expected, day
            assert tasks.send_tenancy_reminders(day) == 0, f"a second run on {day} sends nothing"
    reminders = [e for e in published if isinstance(e, TenancyExpiring)]
    assert [e.days_left for e in reminders] == [30, 7, -1]
    assert {(e.tenancy_id, e.community_id, e.room_id) for e in reminders} == {
        (tenancy.pk, world.a.pk, rooms[0].pk)
    }
    tenancy.refresh_from_db()
    assert tenancy.reminded_on == dt.date(2026, 7, 1)
    audit = AuditLog.objects.filter(action="people.tenancy.remind")
    assert audit.count() == 3
    assert {(a.actor_id, a.actor_label, a.community_id) for a in audit} == {
        (None, "system", world.a.pk)
    }


def test_a_tenancy_first_seen_overdue_gets_one_reminder(
    world: World,
    system: Actor,
    rooms: list[Room],
    people: list[Person],
    published: list[object],
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    register(system, rooms[0], world, [people[0]], date_to=dt.date(2026, 4, 1))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_tenancy_reminders(dt.date(2026, 5, 1)) == 1
        assert tasks.send_tenancy_reminders(dt.date(2026, 5, 2)) == 0
    assert [e.days_left for e in published if isinstance(e, TenancyExpiring)] == [-30]


def test_ended_and_distant_tenancies_get_no_reminder(
    world: World, system: Actor, rooms: list[Room], people: list[Person]
) -> None:
    ended = register(system, rooms[0], world, [people[0]], date_to=dt.date(2026, 4, 1))
    do_end_tenancy(system, ended, ended_on=dt.date(2026, 3, 20))
    register(system, rooms[1], world, [people[1]], date_to=dt.date(2027, 4, 1))
    assert tasks.send_tenancy_reminders(dt.date(2026, 3, 25)) == 0
    assert not AuditLog.objects.filter(action="people.tenancy.remind").exists()


def test_the_reminder_task_runs_hourly_from_the_worker(
    world: World, system: Actor, rooms: list[Room], people: list[Person]
) -> None:
    tenancy = register(system, rooms[0], world, [people[0]], date_to=dt.date(2026, 4, 1))
    assert (
        worker.registered()["people.remind_expiring_tenancies"] is tasks.remind_expiring_tenancies
    )
    assert worker.Periodic("people.remind_expiring_tenancies", dt.timedelta(hours=1)) in (
        worker._periodic
    )
    worker.enqueue("people.remind_expiring_tenancies", {"today": "2026-03-20"})
    assert worker.run_due() == 1
    tenancy.refresh_from_db()
    assert tenancy.reminded_on == dt.date(2026, 3, 20)


@pytest.mark.parametrize(
    ("on", "stage"),
    [
        (None, 0),
        (dt.date(2026, 5, 31), 0),
        (dt.date(2026, 6, 1), 1),
        (dt.date(2026, 6, 23), 1),
        (dt.date(2026, 6, 24), 2),
        (dt.date(2026, 7, 1), 2),
        (dt.date(2026, 7, 2), 3),
    ],
)
def test_reminder_stages(on: dt.date | None, stage: int) -> None:
    assert tasks.reminder_stage(dt.date(2026, 7, 1), on) == stage


def test_source_is_recorded(
    world: World, system: Actor, rooms: list[Room], people: list[Person]
) -> None:
    tenancy = register(system, rooms[0], world, [people[0]], source=ChangeSource.IMPORT)
    do_end_tenancy(system, tenancy, ended_on=DAY, source=ChangeSource.API)
    assert list(PopulationChange.objects.order_by("id").values_list("source", flat=True)) == [
        ChangeSource.IMPORT,
        ChangeSource.API,
    ]
    with pytest.raises(errors.ValidationFailed):
        register(system, rooms[1], world, [people[1]], source="fax")


def test_the_seeded_community_has_rentals_due_for_reminders(db: None) -> None:
    from linli.people.models import CareRecord, Vehicle
    from linli.people.vehicles import parse_plate
    from linli.seed import age_on, seed_community

    summary = seed_community(residents=150, seed=11, code="rentals")
    today = dt.date.today()  # noqa: DTZ011 (the seed dates leases from the local today)
    rentals = Tenancy.objects.filter(community=summary.community)
    assert rentals.count() == summary.tenancies >= 4
    assert rentals.filter(date_to__lt=today).count() == 1
    assert (
        rentals.filter(date_to__gte=today, date_to__lte=today + dt.timedelta(days=30)).count() == 3
    )
    tenants = Residency.objects.filter(tenancy__in=rentals)
    assert tenants.exists() and set(tenants.values_list("relation", flat=True)) == {"tenant"}
    assert tasks.send_tenancy_reminders(today) == 4
    vehicles = Vehicle.objects.filter(community=summary.community)
    assert vehicles.count() == summary.vehicles > 0
    assert all(parse_plate(v.plate).kind == v.plate_kind for v in vehicles)
    tagged = CareRecord.objects.filter(community=summary.community).select_related("person")
    assert tagged.count() == summary.care_tags
    assert all(c.person.birth_date and age_on(c.person.birth_date, today) >= 70 for c in tagged)

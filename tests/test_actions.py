"""Actions: every write leaves an audit row; events fire only after commit; rules hold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import transaction

from linli.core import actions as core_actions
from linli.core import errors, events
from linli.core.choices import OrganisationType, Role
from linli.core.models import AuditLog, Grant
from linli.core.tenancy import Actor
from linli.people import actions as people_actions
from linli.places import actions as place_actions
from linli.places.models import Building, Unit
from tests.conftest import World


def _give(w: World, s: Actor) -> object:
    return core_actions.do_give_grant(s, community_id=w.b.pk, role=Role.FRONT_DESK, user=w.guard_a)


def _withdraw(w: World, s: Actor) -> object:
    core_actions.do_withdraw_grant(s, Grant.objects.get(user=w.guard_a, community=w.a))
    return None


def _building(w: World, s: Actor) -> Building:
    return place_actions.do_create_building(s, w.a, number="9", floors_above=6)


def _unit(w: World, s: Actor) -> Unit:
    return place_actions.do_create_unit(s, _building(w, s), number="1")


def _move_in(w: World, s: Actor) -> object:
    room = place_actions.do_create_rooms(
        s, _unit(w, s), [("101", 1, Decimal("89.5"), "residential")]
    )[0]
    return people_actions.do_start_residency(
        s, w.person_a, room, relation="owner", date_from=dt.date(2026, 1, 1)
    )


def _move_out(w: World, s: Actor) -> object:
    residency = _move_in(w, s)
    return people_actions.do_end_residency(s, residency, date_to=dt.date(2026, 2, 1))  # type: ignore[arg-type]


WRITES: dict[str, tuple[str, Callable[[World, Actor], object]]] = {
    "organisation": (
        "core.organisation.create",
        lambda w, s: core_actions.do_create_organisation(
            s, name="星洲物业", type=OrganisationType.PROPERTY_COMPANY
        ),
    ),
    "user": (
        "core.user.create",
        lambda w, s: core_actions.do_create_user(s, username="new", password="a-long-pass-77"),
    ),
    "grant": ("core.grant.give", _give),
    "withdraw": ("core.grant.withdraw", _withdraw),
    "token": (
        "core.api_token.create",
        lambda w, s: core_actions.do_create_api_token(Actor.for_user(w.manager_a), name="t"),
    ),
    "community": (
        "places.community.create",
        lambda w, s: place_actions.do_create_community(s, name="新区", code="new"),
    ),
    "community_update": (
        "places.community.update",
        lambda w, s: place_actions.do_update_community(s, w.a, address="新地址"),
    ),
    "building": ("places.building.create", _building),
    "unit": ("places.unit.create", _unit),
    "rooms": (
        "places.room.create_many",
        lambda w, s: place_actions.do_create_rooms(
            s, _unit(w, s), [("101", 1, Decimal("89.5"), "residential")]
        ),
    ),
    "person": (
        "people.person.register",
        lambda w, s: people_actions.do_register_person(
            s, w.a, name="赵敏", id_number="110105198001010016"
        ),
    ),
    "move_in": ("people.residency.start", _move_in),
    "move_out": ("people.residency.end", _move_out),
    "reveal": (
        "people.person.reveal",
        lambda w, s: people_actions.do_reveal_identity(s, w.person_a),
    ),
}


@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_action_writes_an_audit_row(world: World, system: Actor, name: str) -> None:
    action, write = WRITES[name]
    before = AuditLog.objects.filter(action=action).count()
    write(world, system)
    rows = AuditLog.objects.filter(action=action)
    assert rows.count() == before + 1
    row = rows.order_by("-id").first()
    assert row is not None and row.actor_label
    assert row.changes, "an audit row records what changed"


def test_audit_row_records_before_and_after(world: World, system: Actor) -> None:
    place_actions.do_update_community(system, world.a, name="翠苑新区", address="文三路 9 号")
    row = AuditLog.objects.filter(action="places.community.update").get()
    assert row.changes == {"address": ["", "文三路 9 号"], "name": ["翠苑一区", "翠苑新区"]}
    assert row.community_id == world.a.pk and row.object_id == str(world.a.pk)


def test_unchanged_update_writes_nothing(world: World, system: Actor) -> None:
    place_actions.do_update_community(system, world.a, name=world.a.name)
    assert not AuditLog.objects.filter(action="places.community.update").exists()


def test_failed_action_leaves_nothing_half_written(world: World, system: Actor) -> None:
    audit_before = AuditLog.objects.count()
    with pytest.raises(errors.ValidationFailed):
        place_actions.do_update_community(system, world.a, name="ok", division_code="12")
    world.a.refresh_from_db()
    assert world.a.name == "翠苑一区"
    assert AuditLog.objects.count() == audit_before


def test_events_are_published_only_after_commit(
    world: World,
    system: Actor,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    seen: list[events.GrantChanged] = []
    handler = events.handles(events.GrantChanged)(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            _give(world, system)
            assert seen == [], "no handler runs before commit"
        assert len(callbacks) == 1
        assert seen[0].given and seen[0].community_id == world.b.pk
        seen.clear()
        grant = Grant.objects.get(user=world.guard_a, community=world.b)

        def withdraw_then_fail() -> None:
            with transaction.atomic():
                core_actions.do_withdraw_grant(system, grant)
                raise RuntimeError("roll back")

        with pytest.raises(RuntimeError):
            withdraw_then_fail()
        assert seen == [], "a rolled-back change publishes nothing"
    finally:
        events._handlers[events.GrantChanged].remove(handler)


def test_cross_tenant_grant_is_refused(world: World) -> None:
    manager_a = Actor.for_user(world.manager_a)
    with pytest.raises(errors.NotFound):
        core_actions.do_give_grant(
            manager_a, community_id=world.b.pk, role=Role.FRONT_DESK, user=world.guard_a
        )


def test_only_platform_admin_gives_platform_admin(world: World) -> None:
    with pytest.raises(errors.PermissionDenied):
        core_actions.do_give_grant(
            Actor.for_user(world.manager_a),
            community_id=world.a.pk,
            role=Role.PLATFORM_ADMIN,
            user=world.guard_a,
        )


def test_duplicate_grant_is_a_conflict(world: World, system: Actor) -> None:
    with pytest.raises(errors.Conflict):
        core_actions.do_give_grant(
            system, community_id=world.a.pk, role=Role.SECURITY_GUARD, user=world.guard_a
        )


def test_withdrawn_grant_removes_access(world: World, system: Actor) -> None:
    assert Actor.for_user(world.guard_a).can("community.view", world.a.pk)
    _withdraw(world, system)
    assert not Actor.for_user(world.guard_a).can("community.view", world.a.pk)


def test_inactive_organisation_grants_nothing(world: World) -> None:
    org = world.police_a.organisation
    assert org is not None
    org.is_active = False
    org.save(update_fields=["is_active"])
    assert not Actor.for_user(world.police_a).can("community.view", world.a.pk)


def test_person_rules(world: World, system: Actor) -> None:
    with pytest.raises(errors.ValidationFailed) as bad_checksum:
        people_actions.do_register_person(system, world.a, name="x", id_number="110105198001010017")
    assert bad_checksum.value.code == "id_number_checksum"
    with pytest.raises(errors.Conflict) as dup:
        people_actions.do_register_person(system, world.a, name="x", id_number="11010519491231002x")
    assert dup.value.code == "duplicate_id_number"
    p = people_actions.do_register_person(
        system, world.a, name="赵敏", id_number="110105198001010016"
    )
    assert p.birth_date == dt.date(1980, 1, 1) and p.sex == "1"
    assert p.id_number_masked == "1101**********0016"
    assert "110105198001010016" not in p.id_number_sealed


def test_password_rules_apply(world: World, system: Actor) -> None:
    with pytest.raises(errors.ValidationFailed) as exc:
        core_actions.do_create_user(system, username="weak", password="123")
    assert "password" in exc.value.details

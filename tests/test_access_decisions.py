"""Access decisions end to end: credentials, passes, rights, schedules, visitors, moving out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from linli.access import actions, compile, keys, passes, selectors, tasks
from linli.access.choices import CredentialKind, CredentialStatus, Effect, GroupKind
from linli.access.decisions import Presented, calendars, decide
from linli.access.models import (
    AccessEvent,
    AccessPoint,
    AccessRight,
    Credential,
    Group,
    Holiday,
    Policy,
    Schedule,
    Visitor,
)
from linli.core import errors
from linli.core.tenancy import Actor
from linli.people.actions import do_end_residency, do_register_person, do_start_residency
from linli.people.models import Person
from linli.places.actions import do_generate_building
from linli.places.models import Room
from tests.conftest import World


@dataclass
class Estate:
    world: World
    system: Actor
    gate: AccessPoint
    entrance: AccessPoint  # building 1's entrance
    other: AccessPoint  # building 2's entrance
    resident: Person
    room: Room
    residents_of_1: Group
    allow_1: Policy


def _now() -> dt.datetime:
    return timezone.now()


@pytest.fixture
def estate(world: World, system: Actor, django_capture_on_commit_callbacks: Any) -> Estate:
    a = world.a
    b1 = do_generate_building(system, a, number="1", floors_above=2, units=1, rooms_per_floor=2)
    b2 = do_generate_building(system, a, number="2", floors_above=2, units=1, rooms_per_floor=2)
    gate = AccessPoint.objects.create(community=a, code="gate", name="南门", kind="community_gate")
    entrance = AccessPoint.objects.create(
        community=a, code="b1", name="1幢入口", kind="building_entrance", building=b1
    )
    other = AccessPoint.objects.create(
        community=a, code="b2", name="2幢入口", kind="building_entrance", building=b2
    )
    residents_of_1 = Group.objects.create(
        community=a, name="1幢住户", kind=GroupKind.RESIDENTS, building=b1
    )
    allow_1 = Policy.objects.create(
        community=a, name="1幢住户通行", effect=Effect.ALLOW, group=residents_of_1
    )
    allow_1.points.set([gate, entrance])
    compile.compile_policy(allow_1)
    room = Room.objects.filter(unit__building=b1).order_by("number").first()
    assert room is not None
    resident = world.person_a
    with django_capture_on_commit_callbacks(execute=True):
        do_start_residency(system, resident, room, relation="owner", date_from=timezone.localdate())
    return Estate(world, system, gate, entrance, other, resident, room, residents_of_1, allow_1)


def qr(estate: Estate, person: Person | None = None) -> str:
    person = person or estate.resident
    actions.ensure_pass(person.pk, estate.world.a.pk)
    return actions.show_pass(person.pk, estate.world.a.pk)


def at(point: AccessPoint, method: str, value: str = "", **kw: Any) -> str:
    return decide(point, Presented(method, value), **kw).reason


def test_a_residents_pass_opens_their_building_and_the_gate_but_not_another(
    estate: Estate,
) -> None:
    decision = decide(estate.entrance, Presented("qr", qr(estate)))
    assert decision.allowed and decision.reason == "allowed"
    assert decision.person_id == estate.resident.pk
    assert at(estate.gate, "qr", qr(estate)) == "allowed"
    assert at(estate.other, "qr", qr(estate)) == "no_permission"
    event = AccessEvent.objects.get(pk=decision.event_id)
    assert (event.result, event.method, event.mode, event.point_id) == (
        "allow",
        "qr",
        "online",
        estate.entrance.pk,
    )
    assert AccessEvent.objects.filter(community=estate.world.a).count() == 3


def test_a_pass_is_refused_when_replayed_forged_expired_or_for_another_community(
    estate: Estate,
) -> None:
    text = qr(estate)
    assert at(estate.entrance, "qr", text) == "allowed"
    assert at(estate.entrance, "qr", text) == "replayed"
    assert at(estate.gate, "qr", text) == "replayed"  # at another door too
    later = _now() + dt.timedelta(seconds=actions.PASS_LIFETIME + passes.CLOCK_SKEW + 1)
    assert at(estate.entrance, "qr", qr(estate), now=later) == "pass_expired"
    forged = passes.issue(
        passes.new_private_key(),
        key_id=keys.cache.signer(estate.world.a.pk)[0],
        community_id=estate.world.a.pk,
        credential_id=1,
        issued_at=int(_now().timestamp()),
    )
    assert at(estate.entrance, "qr", forged) == "pass_forged"
    assert at(estate.entrance, "qr", forged[:-3]) == "pass_truncated"
    assert at(estate.entrance, "qr", "hello") == "pass_malformed"
    b = estate.world.b
    stranger = estate.world.person_b
    actions.ensure_pass(stranger.pk, b.pk)
    elsewhere = actions.show_pass(stranger.pk, b.pk)
    # Signed by community b's key: community a's door does not know that key.
    assert at(estate.entrance, "qr", elsewhere) in ("pass_unknown_key", "pass_wrong_community")


def test_a_revoked_key_stops_its_passes_and_a_rotated_one_keeps_them_for_a_minute(
    estate: Estate,
) -> None:
    first = qr(estate)
    old_id = keys.cache.signer(estate.world.a.pk)[0]
    keys.create_key(estate.world.a.pk)  # rotation
    assert keys.cache.signer(estate.world.a.pk)[0] != old_id
    assert at(estate.entrance, "qr", first) == "allowed"  # signed just before: still good
    second = qr(estate)  # signed with the new key
    keys.revoke_key(keys.SigningKey.objects.get(pk=old_id))
    old_again = passes.issue(
        keys.private_key(keys.SigningKey.objects.get(pk=old_id)),
        key_id=old_id,
        community_id=estate.world.a.pk,
        credential_id=Credential.objects.get(person=estate.resident, kind="qr").pk,
        issued_at=int(_now().timestamp()),
    )
    assert at(estate.entrance, "qr", old_again) == "pass_revoked_key"
    assert at(estate.entrance, "qr", second) == "allowed"
    document = keys.public_keys_document(estate.world.a.pk)
    assert old_id in document["revoked"]  # type: ignore[operator]


def test_cards_suspend_resume_and_revoke(estate: Estate) -> None:
    card, shown = actions.do_issue_credential(
        estate.system, estate.resident, estate.world.a.pk, kind="card", value="04:A2:2B:91"
    )
    assert shown == "" and card.masked == "****2B91" and "04A22B91" not in card.lookup_hash
    assert at(estate.entrance, "card", "04a22b91") == "allowed"
    actions.do_set_credential_status(estate.system, card, "suspend", "lost")
    assert at(estate.entrance, "card", "04A22B91") == "credential_suspended"
    actions.do_set_credential_status(estate.system, card, "resume")
    assert at(estate.entrance, "card", "04A22B91") == "allowed"
    actions.do_set_credential_status(estate.system, card, "revoke")
    assert at(estate.entrance, "card", "04A22B91") == "credential_revoked"
    assert at(estate.entrance, "card", "DEADBEEF") == "unknown_credential"
    with pytest.raises(errors.Conflict):
        actions.do_set_credential_status(estate.system, card, "resume")  # revoked is final
    # The same card cannot go to two people at once.
    other = do_register_person(
        estate.system, estate.world.a, name="赵六", id_number="110101199003074477"
    )
    actions.do_issue_credential(
        estate.system, estate.resident, estate.world.a.pk, kind="card", value="11223344"
    )
    with pytest.raises(errors.Conflict) as caught:
        actions.do_issue_credential(
            estate.system, other, estate.world.a.pk, kind="card", value="11223344"
        )
    assert caught.value.code == "card_in_use"


def test_a_card_outside_its_validity_is_refused(estate: Estate) -> None:
    soon = _now() + dt.timedelta(hours=1)
    actions.do_issue_credential(
        estate.system,
        estate.resident,
        estate.world.a.pk,
        kind="card",
        value="AABBCCDD",
        valid_from=soon,
        valid_until=soon + dt.timedelta(days=1),
    )
    assert at(estate.entrance, "card", "AABBCCDD") == "credential_not_yet_valid"
    assert at(estate.entrance, "card", "AABBCCDD", now=soon + dt.timedelta(hours=1)) == "allowed"
    assert (
        at(estate.entrance, "card", "AABBCCDD", now=soon + dt.timedelta(days=2))
        == "credential_expired"
    )


def test_pin_brute_force_locks_the_keypad(estate: Estate) -> None:
    _, shown = actions.do_issue_credential(
        estate.system, estate.resident, estate.world.a.pk, kind="pin"
    )
    assert len(shown) == 6 and shown.isdigit()
    assert at(estate.entrance, "pin", shown) == "allowed"
    wrong = f"{(int(shown) + 1) % 10**6:06d}"
    for _ in range(5):
        assert at(estate.entrance, "pin", wrong) == "wrong_pin"
    assert at(estate.entrance, "pin", shown) == "pin_locked"
    assert at(estate.gate, "pin", shown) == "allowed"  # another keypad is not locked
    after = _now() + dt.timedelta(minutes=11)
    assert at(estate.entrance, "pin", shown, now=after) == "allowed"
    assert at(estate.entrance, "pin", "12ab") == "malformed"


def test_an_explicit_deny_wins_and_schedules_bound_the_allow(estate: Estate) -> None:
    a = estate.world.a
    nights = Schedule.objects.create(
        community=a,
        name="夜间",
        windows=[{"days": [1, 2, 3, 4, 5, 6, 7], "start": "23:00", "end": "05:00"}],
    )
    banned = Group.objects.create(community=a, name="黑名单", kind=GroupKind.LIST)
    banned.members.add(estate.resident)
    deny = Policy.objects.create(
        community=a, name="夜间禁止", effect=Effect.DENY, group=banned, schedule=nights
    )
    deny.points.set([estate.entrance])
    compile.compile_policy(deny)
    noon = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    midnight = dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    card, _ = actions.do_issue_credential(
        estate.system, estate.resident, a.pk, kind="card", value="CAFEBABE"
    )
    assert at(estate.entrance, "card", "CAFEBABE", now=noon) == "allowed"
    assert at(estate.entrance, "card", "CAFEBABE", now=midnight) == "denied_by_policy"
    # The allow itself limited to daytime: at midnight the gate is outside the schedule.
    days = Schedule.objects.create(
        community=a,
        name="白天",
        windows=[{"days": [1, 2, 3, 4, 5], "start": "06:00", "end": "22:00"}],
    )
    estate.allow_1.schedule = days
    estate.allow_1.save()
    compile.compile_policy(estate.allow_1)
    assert at(estate.gate, "card", "CAFEBABE", now=midnight) == "outside_schedule"
    assert at(estate.gate, "card", "CAFEBABE", now=noon) == "allowed"
    # A holiday with the schedule closed on holidays.
    days.holiday_rule = "closed"
    days.save()
    Holiday.objects.create(date=dt.date(2026, 12, 1), kind="holiday", name="测试")
    calendars.forget()
    assert at(estate.gate, "card", "CAFEBABE", now=noon) == "outside_schedule"
    assert card.pk


def test_who_may_open_a_door_and_where_a_person_may_go(estate: Estate) -> None:
    assert selectors.who_may_open(estate.system, estate.entrance) == [estate.resident]
    assert selectors.who_may_open(estate.system, estate.other) == []
    doors = selectors.doors_for(estate.system, estate.resident, estate.world.a.pk)
    assert [d.code for d in doors] == ["b1", "gate"]


def test_moving_out_revokes_access(estate: Estate, django_capture_on_commit_callbacks: Any) -> None:
    text = qr(estate)
    card, _ = actions.do_issue_credential(
        estate.system, estate.resident, estate.world.a.pk, kind="card", value="0A0B0C0D"
    )
    residency = estate.resident.residencies.get(date_to__isnull=True)  # type: ignore[attr-defined]
    with django_capture_on_commit_callbacks(execute=True):
        do_end_residency(estate.system, residency, date_to=timezone.localdate())
    assert set(
        Credential.objects.filter(person=estate.resident).values_list("status", flat=True)
    ) == {CredentialStatus.REVOKED}
    assert not AccessRight.objects.filter(person=estate.resident).exists()
    assert at(estate.entrance, "qr", text) == "credential_revoked"
    assert at(estate.entrance, "card", "0A0B0C0D") == "credential_revoked"
    assert card.pk


def test_reconciliation_repairs_a_lost_move_out(estate: Estate) -> None:
    card, _ = actions.do_issue_credential(
        estate.system, estate.resident, estate.world.a.pk, kind="card", value="01020304"
    )
    residency = estate.resident.residencies.get(date_to__isnull=True)  # type: ignore[attr-defined]
    do_end_residency(estate.system, residency, date_to=timezone.localdate())  # handler lost
    assert Credential.objects.get(pk=card.pk).status == CredentialStatus.ACTIVE
    assert tasks.moved_out(estate.world.a.pk) == {estate.resident.pk}
    result = tasks.reconcile(estate.world.a.pk)
    assert result["revoked"] >= 2  # the card and the pass
    assert at(estate.entrance, "card", "01020304") == "credential_revoked"


def test_face_needs_consent_and_a_non_biometric_way_is_always_kept(estate: Estate) -> None:
    a = estate.world.a.pk
    with pytest.raises(errors.Conflict) as caught:
        actions.do_issue_credential(estate.system, estate.resident, a, kind="face")
    assert caught.value.code == "no_consent"
    consent = actions.do_record_consent(
        estate.system, estate.resident, a, modality="face", text_version="2026-01", channel="app"
    )
    face, _ = actions.do_issue_credential(estate.system, estate.resident, a, kind="face")
    qr_cred = Credential.objects.get(person=estate.resident, kind="qr", status="active")
    with pytest.raises(errors.Conflict) as caught:
        actions.do_set_credential_status(estate.system, qr_cred, "revoke")
    assert caught.value.code == "last_non_biometric"
    match = Presented("face", credential_id=face.pk, score=0.93)
    assert decide(estate.entrance, match).reason == "allowed"
    actions.do_revoke_consent(estate.system, consent)
    assert Credential.objects.get(pk=face.pk).status == CredentialStatus.REVOKED
    assert decide(estate.entrance, match).reason == "credential_revoked"
    # With the biometric gone, the pass may be revoked.
    actions.do_set_credential_status(estate.system, qr_cred, "revoke")


def test_a_minor_needs_a_guardian_to_consent(estate: Estate) -> None:
    child = do_register_person(
        estate.system, estate.world.a, name="小明", id_number="110105201501010017"
    )
    with pytest.raises(errors.ValidationFailed) as caught:
        actions.do_record_consent(
            estate.system,
            child,
            estate.world.a.pk,
            modality="face",
            text_version="1",
            channel="app",
        )
    assert "guardian_name" in caught.value.details
    actions.do_record_consent(
        estate.system,
        child,
        estate.world.a.pk,
        modality="face",
        text_version="1",
        channel="paper",
        guardian_name="王芳",
    )


def test_a_visitor_pass_opens_only_its_doors_in_its_window(estate: Estate) -> None:
    a = estate.world.a
    now = _now()
    visitor = Visitor.objects.create(
        community=a,
        host=estate.resident,
        name="访客甲",
        starts_at=now - dt.timedelta(minutes=5),
        ends_at=now + dt.timedelta(hours=2),
    )
    visitor.points.set([estate.gate])
    credential = Credential.objects.create(community=a, visitor=visitor, kind=CredentialKind.QR)
    key_id, private = keys.cache.signer(a.pk)

    def visitor_pass(when: dt.datetime) -> str:
        return passes.issue(
            private,
            key_id=key_id,
            community_id=a.pk,
            credential_id=credential.pk,
            issued_at=int(when.timestamp()),
            scope=passes.Scope.VISITOR,
        )

    assert at(estate.gate, "qr", visitor_pass(now)) == "visitor_allowed"
    visitor.refresh_from_db()
    assert visitor.status == "arrived" and visitor.arrived_at is not None
    assert at(estate.entrance, "qr", visitor_pass(now)) == "no_permission"
    late = now + dt.timedelta(hours=3)
    assert at(estate.gate, "qr", visitor_pass(late), now=late) == "visitor_expired"


def test_a_disabled_point_refuses_everyone(estate: Estate) -> None:
    estate.entrance.enabled = False
    estate.entrance.save()
    assert at(estate.entrance, "qr", qr(estate)) == "point_disabled"


def test_unknown_methods_and_empty_values_are_malformed(estate: Estate) -> None:
    assert at(estate.entrance, "iris", "x") == "malformed"
    assert at(estate.entrance, "card", "  ") == "malformed"
    assert at(estate.entrance, "face") == "unknown_credential"


def test_a_decision_is_one_read_and_one_write(
    estate: Estate, django_assert_num_queries: Any
) -> None:
    """Each round trip to the database counted in the decision's speed (docs/benchmarks.md):
    a card, a PIN and, on PostgreSQL, a pass take two statements (SQLite records a pass's
    nonce in its own statement, in the same transaction as the log entry)."""
    actions.do_issue_credential(
        estate.system, estate.resident, estate.world.a.pk, kind="card", value="AABBCCDD"
    )
    _, pin = actions.do_issue_credential(
        estate.system, estate.resident, estate.world.a.pk, kind="pin"
    )
    text = qr(estate)
    keys.cache.get(estate.world.a.pk)  # the community's keys, read once per 5 s
    calendars.day_kinds(estate.world.a.pk)  # holidays, read once per 30 s
    with django_assert_num_queries(2):
        assert at(estate.entrance, "card", "AABBCCDD") == "allowed"
    with django_assert_num_queries(2):
        assert at(estate.entrance, "pin", pin) == "allowed"
    from django.db import connection

    # SQLite: the read, the nonce, the log entry, and the transaction around the last two
    # (a savepoint inside the test's own transaction: SAVEPOINT and RELEASE).
    with django_assert_num_queries(2 if connection.vendor == "postgresql" else 5):
        assert at(estate.entrance, "qr", text) == "allowed"

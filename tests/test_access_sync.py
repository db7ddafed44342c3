"""Offline allowlists: full and incremental sync, terminal matches, uploads, notifications."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from linli.access import actions, compile, sync, visitors
from linli.access.choices import Effect, GroupKind
from linli.access.models import AccessEvent, AccessPoint, AllowlistChange, Group, Policy, Schedule
from linli.core.tenancy import Actor
from linli.devices.choices import CommandName, CommandStatus
from linli.devices.models import Command
from linli.people.actions import do_end_residency, do_start_residency
from linli.places.actions import do_generate_building
from linli.places.models import Room
from tests.conftest import World
from tests.test_access_http import terminal


@pytest.fixture
def site(world: World, system: Actor, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    a = world.a
    building = do_generate_building(
        system, a, number="1", floors_above=1, units=1, rooms_per_floor=2
    )
    gate = AccessPoint.objects.create(community=a, code="gate", name="南门", kind="community_gate")
    pool = AccessPoint.objects.create(community=a, code="pool", name="泳池", kind="door")
    days = Schedule.objects.create(
        community=a,
        name="白天",
        windows=[{"days": [1, 2, 3, 4, 5], "start": "07:00", "end": "22:00"}],
    )
    residents = Group.objects.create(community=a, name="住户", kind=GroupKind.RESIDENTS)
    policy = Policy.objects.create(
        community=a, name="住户白天", effect=Effect.ALLOW, group=residents, schedule=days
    )
    policy.points.set([gate])
    compile.compile_policy(policy)
    room = Room.objects.filter(unit__building=building).order_by("number").first()
    with django_capture_on_commit_callbacks(execute=True):
        residency = do_start_residency(
            system, world.person_a, room, relation="owner", date_from=timezone.localdate()
        )
    reader, client = terminal(world, "reader-1")
    gate.devices.add(reader)
    return {
        "gate": gate,
        "pool": pool,
        "reader": reader,
        "client": client,
        "days": days,
        "residency": residency,
    }


def fetch(client: Client, since: int | None = None) -> dict[str, Any]:
    url = "/device/v1/access/allowlist" + (f"?since={since}" if since is not None else "")
    answer = client.get(url)
    assert answer.status_code == 200, answer.content
    return answer.json()


def terminal_match(doc: dict[str, Any], value: str) -> str:
    import base64

    key = base64.b64decode(doc["sync_key"])
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def test_a_full_allowlist_lets_a_terminal_match_cards_and_pins_offline(
    world: World, system: Actor, site: dict[str, Any]
) -> None:
    actions.do_issue_credential(system, world.person_a, world.a.pk, kind="card", value="04a1b2c3")
    _, pin = actions.do_issue_credential(system, world.person_a, world.a.pk, kind="pin")
    doc = fetch(site["client"])
    assert doc["full"] is True and doc["points"] == ["gate"]
    by_kind = {e["kind"]: e for e in doc["entries"]}
    assert set(by_kind) == {"card", "pin", "qr"}
    assert by_kind["card"]["match"] == terminal_match(doc, "04A1B2C3")
    assert by_kind["pin"]["match"] == terminal_match(doc, pin)
    assert by_kind["qr"]["match"] is None  # passes are verified by signature
    rules = by_kind["card"]["rules"]["gate"]
    assert rules == [["allow", site["days"].pk, None, None]]
    assert doc["schedules"][str(site["days"].pk)]["windows"][0]["start"] == "07:00"
    assert by_kind["card"]["holder"] == f"p:{world.person_a.pk}"
    assert doc["keys"]["keys"] and doc["version"] == sync.version(world.a.pk)
    text = json.dumps(doc)
    assert "04A1B2C3" not in text and pin not in text and world.person_a.name not in text


def test_incremental_sync_sends_only_changes_and_removals(
    world: World, system: Actor, site: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    card, _ = actions.do_issue_credential(
        system, world.person_a, world.a.pk, kind="card", value="11112222"
    )
    first = fetch(site["client"])
    again = fetch(site["client"], first["version"])
    assert again["full"] is False and again["entries"] == [] and again["remove"] == []
    actions.do_set_credential_status(system, card, "suspend")
    changed = fetch(site["client"], first["version"])
    assert card.pk in changed["remove"]
    assert card.pk not in {e["credential_id"] for e in changed["entries"]}
    # Moving out removes every credential of the person.
    with django_capture_on_commit_callbacks(execute=True):
        do_end_residency(system, site["residency"], date_to=timezone.localdate())
    gone = fetch(site["client"], changed["version"])
    assert gone["entries"] == [] and len(gone["remove"]) >= 1


def test_a_visitor_appears_with_their_window_and_goes_when_cancelled(
    world: World, system: Actor, site: dict[str, Any]
) -> None:
    base = fetch(site["client"])
    now = timezone.now()
    visitor, _ = visitors.do_invite_visitor(
        system,
        world.a.pk,
        name="访客",
        starts_at=now,
        ends_at=now + dt.timedelta(hours=1),
        point_ids=[site["gate"].pk],
    )
    doc = fetch(site["client"], base["version"])
    (entry,) = doc["entries"]
    assert entry["holder"] == f"v:{visitor.pk}" and entry["kind"] == "qr"
    assert entry["rules"]["gate"][0][0] == "allow"
    visitors.do_cancel_visitor(system, visitor)
    doc2 = fetch(site["client"], doc["version"])
    assert entry["credential_id"] in doc2["remove"]


def test_a_terminal_far_behind_gets_a_full_list(
    world: World, system: Actor, site: dict[str, Any]
) -> None:
    first = fetch(site["client"])
    actions.do_issue_credential(system, world.person_a, world.a.pk, kind="card", value="33334444")
    actions.do_issue_credential(system, world.person_a, world.a.pk, kind="card", value="99990000")
    AllowlistChange.objects.filter(id__lte=first["version"] + 1).delete()  # purged
    assert AllowlistChange.objects.exists()  # purging keeps the latest change
    assert fetch(site["client"], first["version"])["full"] is True  # its changes are gone
    assert fetch(site["client"], 0)["full"] is True  # a terminal with nothing
    assert fetch(site["client"], 10**9)["full"] is True  # a version from the future
    bad = site["client"].get("/device/v1/access/allowlist?since=abc")
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"


def test_terminals_behind_are_told_to_sync_once(
    world: World, system: Actor, site: dict[str, Any]
) -> None:
    from linli.devices.models import Device

    barrier = Device.objects.create(
        community=world.a, code="barrier-1", name="道闸", kind="barrier_gate", serial="B1"
    )
    site["gate"].devices.add(barrier)  # keeps no allowlist: never told to sync
    assert sync.notify_terminals(world.a.pk) == 1
    assert sync.notify_terminals(world.a.pk) == 0  # one is already queued
    command = Command.objects.get(device=site["reader"], name=CommandName.SYNC_CREDENTIALS)
    Command.objects.filter(pk=command.pk).update(status=CommandStatus.SUCCEEDED)
    fetch(site["client"])  # the terminal syncs
    assert sync.notify_terminals(world.a.pk) == 0  # up to date
    actions.do_issue_credential(system, world.person_a, world.a.pk, kind="card", value="55556666")
    assert sync.notify_terminals(world.a.pk) == 1


def test_offline_decisions_are_uploaded_once(
    world: World, system: Actor, site: dict[str, Any]
) -> None:
    card, _ = actions.do_issue_credential(
        system, world.person_a, world.a.pk, kind="card", value="77778888"
    )
    ts = int(timezone.now().timestamp() * 1000)
    events = [
        {
            "msg_id": "off-1",
            "ts": ts,
            "point": "gate",
            "method": "card",
            "result": "allow",
            "reason": "allowed",
            "credential_id": card.pk,
            "direction": "in",
        },
        {
            "msg_id": "off-2",
            "ts": ts,
            "point": "pool",
            "method": "card",
            "result": "deny",
            "reason": "no_permission",
        },
        {
            "msg_id": "off-3",
            "ts": ts,
            "point": "gate",
            "method": "card",
            "result": "deny",
            "reason": "unknown_credential",
            "credential_id": 10**9,
        },
    ]
    post = site["client"].post(
        "/device/v1/access/events", json.dumps({"events": events}), content_type="application/json"
    )
    assert post.status_code == 200
    assert [r["status"] for r in post.json()["results"]] == [
        "stored",
        "unknown_point",
        "unknown_credential",
    ]
    again = site["client"].post(
        "/device/v1/access/events",
        json.dumps({"events": events[:1]}),
        content_type="application/json",
    )
    assert again.json()["results"] == [{"msg_id": "off-1", "status": "duplicate"}]
    stored = AccessEvent.objects.get(msg_id="off-1")
    assert (stored.mode, stored.person_id, stored.result) == ("offline", world.person_a.pk, "allow")
    for body in ({"events": []}, {"events": [{"msg_id": "x"}]}, {"nope": 1}):
        bad = site["client"].post(
            "/device/v1/access/events", json.dumps(body), content_type="application/json"
        )
        assert bad.status_code == 400 and bad.json()["code"] == "validation_error"
    future = dict(events[0], msg_id="off-9", ts=ts + 3_600_000)
    bad = site["client"].post(
        "/device/v1/access/events",
        json.dumps({"events": [future]}),
        content_type="application/json",
    )
    assert bad.status_code == 400


def test_purging_keeps_each_communitys_latest_change(
    world: World, system: Actor, site: dict[str, Any]
) -> None:
    actions.do_issue_credential(system, world.person_a, world.a.pk, kind="card", value="ABCD1234")
    before = sync.version(world.a.pk)
    assert sync.purge_changes(timezone.now() + sync.KEEP_CHANGES + dt.timedelta(days=1)) >= 1
    assert sync.version(world.a.pk) == before

"""The terminals' access API: decisions over HTTP, its refusals, and the public keys."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from linli.access import actions, compile, keys
from linli.access.choices import Effect, GroupKind
from linli.access.models import AccessEvent, AccessPoint, Group, Policy
from linli.access.requests import CACHE_SECONDS, terminals
from linli.core.tenancy import Actor
from linli.devices import credentials
from linli.devices.models import Device
from linli.people.actions import do_start_residency
from linli.places.actions import do_generate_building
from linli.places.models import Room
from tests.conftest import World


def terminal(world: World, code: str, community: Any = None) -> tuple[Device, Client]:
    device = Device(
        community=community or world.a,
        code=code,
        name=code,
        kind="code_reader",
        serial=code,
    )
    secret = credentials.issue(device)
    device.save()
    return device, Client(HTTP_AUTHORIZATION=f"Bearer {code}:{secret}")


@pytest.fixture
def setup(world: World, system: Actor, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    a = world.a
    building = do_generate_building(
        system, a, number="1", floors_above=1, units=1, rooms_per_floor=1
    )
    gate = AccessPoint.objects.create(community=a, code="gate", name="南门", kind="community_gate")
    lift = AccessPoint.objects.create(community=a, code="lift", name="电梯", kind="elevator")
    everyone = Group.objects.create(community=a, name="住户", kind=GroupKind.RESIDENTS)
    policy = Policy.objects.create(community=a, name="住户", effect=Effect.ALLOW, group=everyone)
    policy.points.set([gate])
    compile.compile_policy(policy)
    room = Room.objects.get(unit__building=building)
    with django_capture_on_commit_callbacks(execute=True):
        do_start_residency(
            system, world.person_a, room, relation="owner", date_from=timezone.localdate()
        )
    reader, client = terminal(world, "reader-1")
    gate.devices.add(reader)
    return {"gate": gate, "lift": lift, "reader": reader, "client": client}


def ask(client: Client, body: Any) -> Any:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/device/v1/access/decide", data, content_type="application/json")


def test_a_terminal_gets_a_decision_and_the_attempt_is_logged(
    world: World, setup: dict[str, Any]
) -> None:
    actions.ensure_pass(world.person_a.pk, world.a.pk)
    text = actions.show_pass(world.person_a.pk, world.a.pk)
    answer = ask(setup["client"], {"method": "qr", "value": text, "direction": "in"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["result"] == "allow" and body["reason"] == "allowed"
    assert set(body) == {"result", "reason", "event_id"}  # no personal data
    event = AccessEvent.objects.get(pk=body["event_id"])
    assert (event.device_id, event.point_id, event.direction) == (
        setup["reader"].pk,
        setup["gate"].pk,
        "in",
    )
    again = ask(setup["client"], {"point": "gate", "method": "qr", "value": text}).json()
    assert (again["result"], again["reason"]) == ("deny", "replayed")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"method": "iris", "value": "x"}, "method"),
        ({"method": "card", "value": "x", "extra": 1}, "extra"),
        ({"method": "face", "credential_id": 0}, "credential_id"),
        ({"method": "face", "credential_id": 3, "score": 7}, "score"),
        ({"method": "card", "direction": "up"}, "direction"),
        ([1, 2], "body"),
    ],
)
def test_malformed_requests_are_refused_with_the_field(
    setup: dict[str, Any], body: Any, field: str
) -> None:
    answer = ask(setup["client"], body)
    assert answer.status_code == 400
    assert answer.json()["code"] == "validation_error"
    assert any(k.startswith(field) for k in answer.json()["details"]), answer.json()
    assert not AccessEvent.objects.exists()


def test_not_json_too_large_and_unauthenticated(setup: dict[str, Any]) -> None:
    assert ask(setup["client"], b"{not json").json()["code"] == "validation_error"
    big = ask(setup["client"], b"{" + b" " * 20000 + b"}")
    assert big.status_code == 413 and big.json()["code"] == "too_large"
    anonymous = Client().post("/device/v1/access/decide", "{}", content_type="application/json")
    assert anonymous.status_code == 401


def test_a_terminal_may_only_ask_about_its_own_points(world: World, setup: dict[str, Any]) -> None:
    answer = ask(setup["client"], {"point": "lift", "method": "card", "value": "AABB"})
    assert answer.status_code == 404 and answer.json()["code"] == "unknown_point"
    setup["lift"].devices.add(setup["reader"])
    terminals.forget()  # as after CACHE_SECONDS: the terminal now serves two points
    answer = ask(setup["client"], {"method": "card", "value": "AABB"})
    assert answer.status_code == 400 and answer.json()["code"] == "point_required"
    # A terminal of another community cannot use community a's points.
    _, foreign = terminal(world, "reader-b", world.b)
    answer = ask(foreign, {"point": "gate", "method": "card", "value": "AABB"})
    assert answer.status_code == 404


def test_the_public_keys_for_offline_checks(world: World, setup: dict[str, Any]) -> None:
    keys.create_key(world.a.pk)
    document = setup["client"].get("/device/v1/access/keys").json()
    assert document["community_id"] == world.a.pk
    assert len(document["keys"]) == 1 and document["revoked"] == []
    assert "private" not in json.dumps(document)


def test_a_disabled_or_rekeyed_terminal_is_refused_once_the_cache_expires(
    setup: dict[str, Any], monkeypatch: Any
) -> None:
    import time

    assert ask(setup["client"], {"method": "card", "value": "AABB"}).status_code == 200
    reader = setup["reader"]
    reader.enabled = False
    reader.save()
    later = time.monotonic() + CACHE_SECONDS + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    refused = ask(setup["client"], {"method": "card", "value": "AABB"})
    assert refused.status_code == 401 and refused.json()["code"] == "disabled"
    wrong = Client(HTTP_AUTHORIZATION="Bearer reader-1:not-the-secret")
    assert ask(wrong, {"method": "card", "value": "AABB"}).status_code == 401

"""The terminals' access API: decisions over HTTP, its refusals, and the public keys."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from linli.access import actions, keys
from linli.access.models import AccessEvent
from linli.access.requests import CACHE_SECONDS, terminals
from linli.core.tenancy import Actor
from tests.access_estate import gate_with_terminal, terminal
from tests.conftest import World


@pytest.fixture
def setup(world: World, system: Actor, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    return gate_with_terminal(world, system, django_capture_on_commit_callbacks)


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

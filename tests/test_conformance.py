"""``linli device-check``: the protocol checks pass against the platform's HTTP API (the live
test server) and its MQTT broker and gateway, and fail with the wrong secret."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

from linli import cli
from linli.access.models import AccessEvent, AccessPoint
from linli.core.tenancy import Actor
from linli.devices import conformance, ingest
from linli.devices.actions import do_register_device
from linli.devices.choices import CommandStatus
from linli.devices.gateway import Gateway
from linli.devices.models import Command, Device, DeviceMessage
from linli.places.actions import do_create_community
from tests.mqtt_broker import Broker
from tests.test_simulator import broker, mqtt_gateway  # noqa: F401  (fixtures)

CHECKS = {
    "heartbeat stored",
    "telemetry stored",
    "event stored",
    "state stored",
    "command_result stored",
    "new msg_id stored",
    "repeated msg_id acked as duplicate",
    "malformed JSON refused",
    "schema error refused",
    "wrong device id refused",
    "stale timestamp refused",
    "oversized message refused",
    "command round trip",
    "access request for an unknown card refused",
    "resent access request gets the first answer",
    "stale access request not decided",
}


@pytest.fixture
def device(transactional_db: None) -> tuple[str, str]:
    system = Actor.system("test")
    community = do_create_community(system, name="检查小区", code="chk")
    gate, secret = do_register_device(
        system, community, kind="face_terminal", code="chk-gate", name="门口", serial="C1"
    )
    ingest.limiter.reset()
    return gate.code, secret


def table(out: str) -> dict[str, str]:
    """Return ``{check: PASS|FAIL|SKIP}`` from the printed table."""
    rows = {}
    for line in out.splitlines():
        for label in ("PASS", "FAIL", "SKIP"):
            if f"  {label}  " in line or line.endswith(f"  {label}"):
                rows[line.split(f"  {label}")[0].strip()] = label
    return rows


def test_every_check_passes_against_the_http_api(
    device: tuple[str, str], live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, secret = device
    cli.main(["device-check", "--http", live_server.url, "--device", code, "--secret", secret])
    out = capsys.readouterr().out
    rows = table(out)
    assert set(rows) == CHECKS | {"signed request stored", "replayed nonce refused"}
    assert set(rows.values()) == {"PASS"}, out
    assert out.rstrip().endswith("18 passed, 0 failed, 0 skipped")
    # The valid ones were stored once each (the access request and its stale copy too);
    # the round trip finished the command.
    assert DeviceMessage.objects.filter(device__code=code).count() == 10
    assert Command.objects.get(device__code=code).status == CommandStatus.SUCCEEDED
    # The gate serves no access point: the card was refused without a decision.
    assert "deny unknown_point (event None)" in out
    assert not AccessEvent.objects.exists()


def test_a_terminal_at_a_point_sees_the_unknown_card_decided_once(
    device: tuple[str, str], live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, secret = device
    gate = Device.objects.get(code=code)
    point = AccessPoint.objects.create(
        community=gate.community, code="s1", name="南门", kind="community_gate"
    )
    point.devices.add(gate)
    outcomes = conformance.check_http(live_server.url, code, secret, platform=None)
    access = {o.name: o for o in outcomes if "access request" in o.name}
    assert all(o.passed for o in access.values()), access
    logged = AccessEvent.objects.get()  # the resent copy was answered, not decided again
    assert (logged.point_id, logged.result, logged.reason) == (
        point.pk,
        "deny",
        "unknown_credential",
    )
    said = access["access request for an unknown card refused"].detail
    assert said == f"deny unknown_credential (event {logged.pk})"
    # What the terminal read is used, never stored.
    stored = DeviceMessage.objects.filter(device__code=code, type="access_request")
    assert stored.count() == 2  # the request (once) and its stale copy
    assert all("value" not in m.payload and m.payload["method"] == "card" for m in stored)


def test_access_answers_that_break_the_protocol_fail() -> None:
    requests = conformance.AccessRequests.make("gate-9")
    msg_id, stale_id = requests.fresh["msg_id"], requests.stale["msg_id"]
    assert requests.fresh["ts"] - requests.stale["ts"] >= 60_000
    denied = {
        "request_msg_id": msg_id,
        "result": "deny",
        "reason": "unknown_credential",
        "event_id": 7,
    }
    stale = {
        "request_msg_id": stale_id,
        "result": "deny",
        "reason": "stale_request",
        "event_id": None,
    }

    def verdicts(first: Any, again: Any, late: Any) -> list[bool | None]:
        return [o.passed for o in requests.outcomes(first, again, late)]

    assert verdicts(denied, dict(denied), stale) == [True, True, True]
    opened = {**denied, "result": "allow", "reason": "allowed"}
    assert verdicts(opened, dict(opened), stale)[0] is False  # a random card opened the door
    assert verdicts({**denied, "request_msg_id": "other"}, denied, stale)[0] is False
    assert verdicts(denied, {**denied, "event_id": 8}, stale)[1] is False  # decided twice
    assert verdicts(denied, {**denied, "reason": "replayed"}, stale)[1] is False
    assert verdicts(denied, None, stale)[1] is False
    assert verdicts(denied, denied, {**stale, "event_id": 9})[2] is False  # decided anyway
    assert verdicts(denied, denied, {**stale, "reason": "unknown_credential"})[2] is False
    assert verdicts(None, None, None) == [False, False, False]


def test_a_wrong_secret_fails_the_checks_and_the_exit_status(
    device: tuple[str, str], live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _secret = device
    with pytest.raises(SystemExit) as exit_:
        cli.main(["device-check", "--http", live_server.url, "--device", code, "--secret", "x"])
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    rows = table(out)
    assert rows["telemetry stored"] == "FAIL"
    assert "got 401 bad_credentials, expected stored" in out
    assert "PASS" not in rows.values()
    assert not DeviceMessage.objects.filter(device__code=code).exists()


def test_the_round_trip_is_skipped_without_the_platform_database(
    device: tuple[str, str], live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, secret = device
    outcomes = conformance.check_http(live_server.url, code, secret, platform=None)
    assert conformance.report(outcomes, sys.stdout)
    assert table(capsys.readouterr().out)["command round trip"] == "SKIP"


def test_every_check_passes_against_the_broker_and_gateway(
    device: tuple[str, str],
    broker: Broker,  # noqa: F811
    mqtt_gateway: Callable[[], Gateway],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, secret = device
    mqtt_gateway()
    url = f"mqtt://127.0.0.1:{broker.port}"
    cli.main(["device-check", "--mqtt", url, "--device", code, "--secret", secret])
    out = capsys.readouterr().out
    rows = table(out)
    assert set(rows) == CHECKS | {
        "connect with id and secret",
        "another community's topic refused",
        "another device's topic refused",
    }
    assert set(rows.values()) == {"PASS"}, out
    assert Command.objects.get(device__code=code).status == CommandStatus.SUCCEEDED

    with pytest.raises(SystemExit) as exit_:
        cli.main(["device-check", "--mqtt", url, "--device", code, "--secret", "x"])
    assert exit_.value.code == 1
    assert "connect with id and secret  FAIL  CONNACK reason 135" in capsys.readouterr().out

"""``linli device-check``: the protocol checks pass against the platform's HTTP API (the live
test server) and its MQTT broker and gateway, and fail with the wrong secret."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

from linli import cli
from linli.core.tenancy import Actor
from linli.devices import conformance, ingest
from linli.devices.actions import do_register_device
from linli.devices.choices import CommandStatus
from linli.devices.gateway import Gateway
from linli.devices.models import Command, DeviceMessage
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
    assert out.rstrip().endswith("15 passed, 0 failed, 0 skipped")
    # The valid ones were stored once each; the round trip finished the command.
    assert DeviceMessage.objects.filter(device__code=code).count() == 8
    assert Command.objects.get(device__code=code).status == CommandStatus.SUCCEEDED


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

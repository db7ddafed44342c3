"""The simulator's passers: passes shown as QR images, read by terminals, decided online
over HTTP and over MQTT."""

from __future__ import annotations

import contextlib
import io
import random
from collections.abc import Callable
from typing import Any

import pytest

from linli import cli
from linli.access import keys
from linli.access.decisions import calendars
from linli.access.models import AccessEvent
from linli.access.passers import HttpDoors, Passers
from linli.access.seed import seed_access
from linli.devices import ingest, simulator
from linli.devices.gateway import Gateway
from linli.devices.models import DeviceMessage
from linli.seed import seed_community, seed_devices
from tests.mqtt_broker import Broker
from tests.test_simulator import broker, mqtt_gateway  # noqa: F401  (fixtures)


@pytest.fixture
def estate(transactional_db: None) -> str:
    keys.cache.forget()
    calendars.forget()
    ingest.limiter.reset()
    summary = seed_community(residents=20, seed=5, code="walk")
    seed_devices(summary.community, seed=5)
    seed_access(summary.community, seed=5)
    return "walk"


def test_people_pass_the_simulated_doors(estate: str, live_server: Any) -> None:
    devices = simulator.register_devices(estate, 12)
    stats = simulator.Stats()
    doors = HttpDoors(live_server.url, devices)
    people = Passers(doors, devices, stats, rng=random.Random(1))
    assert people.doors, "no simulated terminal was attached to an access point"
    reasons = [people.one_passage() for _ in range(30)]
    assert stats.doors["allowed"] >= 10, stats.doors
    assert stats.errors == 0
    logged = AccessEvent.objects.filter(device__code__in=[d.device_id for d in devices])
    assert logged.filter(result="allow", method="qr").count() == stats.doors["allowed"]
    assert set(reasons) <= {"allowed", "no_permission", "replayed", ""}
    assert "doors:" in stats.line(10.0)


def test_simulate_with_passers_reports_doors(estate: str, live_server: Any, tmp_path: Any) -> None:
    out = io.StringIO()
    path = tmp_path / "devices.json"
    args = [
        "simulate",
        "--http",
        live_server.url,
        "--community",
        estate,
        "--devices",
        "12",
        "--credentials",
        str(path),
        "--rate",
        "5",
        "--passers",
        "8",
        "--duration",
        "2.5",
        "--report-every",
        "100",
    ]
    with contextlib.redirect_stdout(out):
        cli.main(args)
    text = out.getvalue()
    assert "simulated terminals at access points" in text
    final = next(line for line in text.splitlines() if line.startswith("final:"))
    assert "doors:" in final and " passed" in final


def test_people_pass_the_simulated_doors_over_mqtt(
    estate: str,
    broker: Broker,  # noqa: F811
    mqtt_gateway: Callable[[], Gateway],  # noqa: F811
) -> None:
    devices = simulator.register_devices(estate, 12)
    mqtt_gateway()
    out = io.StringIO()
    url = f"mqtt://127.0.0.1:{broker.port}"
    stats = simulator.run_simulation(devices, mqtt_url=url, rate=5, duration=3, out=out, passers=6)
    text = out.getvalue()
    assert "simulated terminals at access points" in text
    assert stats.doors["allowed"] >= 5, (stats.doors, stats.refused)
    assert not stats.refused and stats.errors == 0
    # Each passage came as an access_request, was decided by the gateway and logged with the
    # request's msg_id; the terminal's answer matched the log.
    codes = [d.device_id for d in devices]
    logged = AccessEvent.objects.filter(device__code__in=codes, method="qr")
    assert logged.filter(result="allow").count() == stats.doors["allowed"]
    assert logged.count() == sum(stats.doors.values())
    ids = list(logged.values_list("msg_id", flat=True))
    assert all(m.startswith("door-") for m in ids) and len(set(ids)) == len(ids)
    requests = DeviceMessage.objects.filter(device__code__in=codes, type="access_request")
    assert requests.count() == logged.count()
    assert stats.stored == stats.sent  # the requests were acked as stored like any message

"""The simulator's passers: passes shown as QR images, read by terminals, decided online."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest

from linli import cli
from linli.access import keys
from linli.access.decisions import calendars
from linli.access.models import AccessEvent
from linli.access.passers import Passers
from linli.access.seed import seed_access
from linli.devices import ingest, simulator
from linli.seed import seed_community, seed_devices


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
    people = Passers(live_server.url, devices, stats, rng=random.Random(1))
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
    import contextlib

    with contextlib.redirect_stdout(out):
        cli.main(args)
    text = out.getvalue()
    assert "simulated terminals at access points" in text
    final = next(line for line in text.splitlines() if line.startswith("final:"))
    assert "doors:" in final and " passed" in final

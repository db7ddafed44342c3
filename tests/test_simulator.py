"""``linli simulate``: virtual devices over HTTP (the live test server) and MQTT (a private
Mosquitto and an in-process gateway) get their messages stored and answer commands."""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from linli import cli
from linli.core.tenancy import Actor
from linli.devices import ingest, simulator
from linli.devices.actions import do_queue_command
from linli.devices.choices import CommandStatus
from linli.devices.gateway import Gateway, Options
from linli.devices.models import Command, Device, DeviceMessage
from linli.places.actions import do_create_community
from tests.mqtt_broker import Broker, free_port, running_broker, write_broker_files
from tests.test_gateway import end_session, gateway_url, wait_for


@pytest.fixture
def community(transactional_db: None) -> str:
    do_create_community(Actor.system("test"), name="模拟小区", code="sim")
    ingest.limiter.reset()
    return "sim"


def stored_types(codes: list[str]) -> set[str]:
    return set(DeviceMessage.objects.filter(device__code__in=codes).values_list("type", flat=True))


def test_plan_kinds_mixes_sensors_contacts_and_terminals() -> None:
    kinds = simulator.plan_kinds(20)
    assert len(kinds) == 20
    assert {"environment_sensor", "door_contact", "smoke_detector", "face_terminal"} <= set(kinds)
    assert kinds.count("environment_sensor") > kinds.count("sos_button")


def test_simulate_over_http_stores_messages_and_answers_a_command(
    community: str, live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    devices = simulator.register_devices(community, 6)
    path = tmp_path / "devices.json"
    simulator.save_credentials(path, devices)
    assert path.stat().st_mode & 0o077 == 0
    codes = [d.device_id for d in devices]
    command = do_queue_command(
        Actor.system("test"), Device.objects.get(code=codes[0]), "reboot", {"delay_seconds": 0}
    )
    args = ["simulate", "--http", live_server.url, "--credentials", str(path), "--rate", "20"]
    cli.main([*args, "--duration", "4", "--report-every", "1"])

    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "sent" in line]
    assert len(lines) >= 3  # running summaries, then the final one
    final = lines[-1]
    assert final.startswith("final:") and "refused 0" in final and "commands answered 1" in final
    count = DeviceMessage.objects.filter(device__code__in=codes).count()
    assert 50 <= count <= 120  # ~20/s for 4 s, plus each device's state and heartbeat
    assert f"stored {count} " in final
    assert {"state", "heartbeat", "telemetry", "command_result"} <= stored_types(codes)
    command.refresh_from_db()
    assert command.status == CommandStatus.SUCCEEDED
    assert Device.objects.get(code=codes[0]).status == "online"


def test_simulate_registers_devices_when_no_credentials_file_exists(
    community: str, live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "new.json"
    args = ["simulate", "--http", live_server.url, "--community", community, "--devices", "3"]
    cli.main([*args, "--credentials", str(path), "--duration", "1"])
    made = simulator.load_credentials(path)
    assert len(made) == 3
    registered = Device.objects.filter(community__code=community, serial__startswith="SIM-")
    assert sorted(registered.values_list("code", flat=True)) == sorted(d.device_id for d in made)
    assert "registered 3 simulated devices" in capsys.readouterr().out
    assert DeviceMessage.objects.filter(device__code=made[0].device_id).exists()


# MQTT: a private broker and a gateway thread ------------------------------------------


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    directory = tmp_path_factory.mktemp("mosquitto-sim")
    port = free_port()
    (directory / "mosquitto.conf").write_text(
        f"per_listener_settings false\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {directory / 'passwords'}\nacl_file {directory / 'acl'}\n"
    )
    (directory / "passwords").write_text("")
    (directory / "acl").write_text("")
    with running_broker(directory, port) as b:
        yield b


@pytest.fixture
def mqtt_gateway(broker: Broker) -> Iterator[Callable[[], Gateway]]:
    """Load the registry into the broker and run a gateway thread (call after registering)."""
    started: list[tuple[Gateway, threading.Thread]] = []

    def start() -> Gateway:
        write_broker_files(broker.directory, gateway_url(broker.port))
        broker.reload()
        options = Options(
            broker_url=gateway_url(broker.port),
            client_id=f"gw-{uuid.uuid4().hex[:8]}",
            batch=100,
            flush_ms=20,
            command_poll_seconds=0.2,
        )
        gateway = Gateway(options)
        thread = threading.Thread(target=gateway.run, daemon=True)
        thread.start()
        assert gateway._connected.wait(5), "the gateway could not connect"
        time.sleep(0.2)
        started.append((gateway, thread))
        return gateway

    yield start
    for gateway, thread in started:
        gateway.stop.set()
        thread.join(10)
        end_session(broker.port, gateway.client_id)


def test_simulate_over_mqtt_stores_messages_and_answers_a_command(
    community: str, broker: Broker, mqtt_gateway: Callable[[], Gateway]
) -> None:
    devices = simulator.register_devices(community, 5)
    codes = [d.device_id for d in devices]
    gateway = mqtt_gateway()
    target = Device.objects.get(code=codes[1])
    queued: list[Command] = []

    def queue_command() -> None:  # once the devices are connected and subscribed
        queued.append(
            do_queue_command(Actor.system("test"), target, "reboot", {"delay_seconds": 0})
        )
        connection.close()

    threading.Timer(1.5, queue_command).start()
    out = io.StringIO()
    stats = simulator.run_simulation(
        devices, mqtt_url=f"mqtt://127.0.0.1:{broker.port}", rate=25, duration=4, out=out
    )
    (command,) = queued
    assert out.getvalue().splitlines()[0] == "5 of 5 devices connected"
    assert stats.sent >= 80 and not stats.refused and stats.errors == 0
    assert stats.commands == 1
    assert stats.stored == stats.sent  # every message acked as stored (ack=1)
    wait_for(lambda: gateway.inbox.empty(), what="the gateway idle")
    count = DeviceMessage.objects.filter(device__code__in=codes).count()
    assert count == stats.sent
    assert {"state", "heartbeat", "telemetry", "command_result"} <= stored_types(codes)
    wait_for(
        lambda: Command.objects.get(pk=command.pk).status == CommandStatus.SUCCEEDED,
        what="the command answered",
    )


def test_a_device_the_broker_refuses_is_reported_and_left_out(
    community: str, broker: Broker, mqtt_gateway: Callable[[], Gateway]
) -> None:
    devices = simulator.register_devices(community, 2)
    mqtt_gateway()
    wrong = simulator.DeviceCredential(devices[0].device_id, "wrong", community, "camera")
    out = io.StringIO()
    stats = simulator.run_simulation(
        [wrong, devices[1]], mqtt_url=f"mqtt://127.0.0.1:{broker.port}", rate=5, duration=1, out=out
    )
    assert stats.refused == {"not_connected": 1}
    assert "1 of 2 devices connected" in out.getvalue()
    assert not DeviceMessage.objects.filter(device__code=devices[0].device_id).exists()
    assert DeviceMessage.objects.filter(device__code=devices[1].device_id).exists()

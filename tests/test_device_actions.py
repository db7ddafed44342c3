"""Device actions, status changes, the liveness task and command time-outs."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from linli.core import errors, worker
from linli.core.choices import Role
from linli.core.events import handles
from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.devices import credentials, ingest, status, tasks
from linli.devices.actions import (
    do_cancel_command,
    do_mark_command_sent,
    do_queue_command,
    do_register_device,
    do_rotate_credentials,
    do_set_desired_config,
    do_set_device_enabled,
    do_update_device,
)
from linli.devices.choices import CommandName, CommandStatus, DeviceKind, DeviceStatus
from linli.devices.models import Command, Device, StatusChange
from linli.places.actions import do_generate_building
from linli.places.models import Unit
from linli.seed import seed_community, seed_devices
from tests.conftest import World, make_user
from tests.tenancy_devices import make_device

seen_events: list[object] = []


@handles(status.DeviceOnline, status.DeviceOffline)
def _remember(evt: object) -> None:
    seen_events.append(evt)


@pytest.fixture(autouse=True)
def _clear_events() -> None:
    seen_events.clear()


def _plain_device(w: World, code: str = "gate-1") -> Device:
    return Device.objects.create(
        community=w.a, code=code, name="东门", kind=DeviceKind.DOOR_CONTROLLER, serial=code
    )


def test_mark_online_then_offline_records_each_change_once(
    world: World,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    device = _plain_device(world)
    at = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert status.mark_online(device, status.MESSAGE, at)
        assert not status.mark_online(device, status.MESSAGE, at + dt.timedelta(seconds=5))
        assert status.mark_offline(device, status.LAST_WILL, at + dt.timedelta(seconds=9))
        assert not status.mark_offline(device, status.LAST_WILL, at + dt.timedelta(seconds=9))
    device.refresh_from_db()
    assert device.status == DeviceStatus.OFFLINE
    assert device.last_seen_at == at + dt.timedelta(seconds=5)
    changes = list(StatusChange.objects.filter(device=device).order_by("at"))
    assert [(c.status, c.reason) for c in changes] == [
        (DeviceStatus.ONLINE, "message"),
        (DeviceStatus.OFFLINE, "last_will"),
    ]
    assert [type(e).__name__ for e in seen_events] == ["DeviceOnline", "DeviceOffline"]


def test_status_and_ingest_announce_the_same_online_event() -> None:
    assert status.DeviceOnline is ingest.DeviceOnline


def test_mark_offline_keeps_a_device_heard_from_since(world: World) -> None:
    device = _plain_device(world)
    at = timezone.now()
    status.mark_online(device, status.MESSAGE, at)
    assert not status.mark_offline(
        device, status.HEARTBEAT_TIMEOUT, at, seen_before=at - dt.timedelta(seconds=1)
    )
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.ONLINE


# Registry ---------------------------------------------------------------------------


def test_register_returns_a_secret_that_only_its_hash_keeps(world: World, system: Actor) -> None:
    building = do_generate_building(
        system, world.a, number="1", floors_above=2, units=2, rooms_per_floor=1
    )
    unit = Unit.objects.filter(building=building).order_by("number").last()
    assert unit is not None
    device, secret = do_register_device(
        system,
        world.a,
        kind=DeviceKind.FACE_TERMINAL,
        code="face-1-2",
        name="1幢2单元人脸机",
        serial="SN-001",
        vendor="海康",
        unit_id=unit.pk,
        tags=[" 门禁 ", "门禁", "一期"],
        heartbeat_seconds=30,
    )
    device.refresh_from_db()
    assert device.building_id == building.pk  # filled in from the unit
    assert device.tags == ["门禁", "一期"]
    assert device.credential_version == 1
    assert credentials.check_token(device, secret)
    assert secret not in device.secret_hash + device.signing_key_sealed
    log = AuditLog.objects.get(action="devices.device.create")
    assert log.changes["code"] == [None, "face-1-2"]
    assert secret not in json.dumps(log.changes)


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"code": "gate-1"}, "duplicate_device_code"),
        ({"serial": "SN-1", "vendor": "海康"}, "duplicate_device_serial"),
    ],
)
def test_duplicate_code_or_serial_is_refused_and_writes_nothing(
    world: World, system: Actor, values: dict[str, str], code: str
) -> None:
    make_device(system, world.a, code="gate-1", serial="SN-1", vendor="海康")
    before = AuditLog.objects.count()
    kwargs = {"code": "gate-2", "serial": "SN-2", "vendor": "海康"} | values
    with pytest.raises(errors.Conflict) as caught:
        make_device(system, world.b, **kwargs)
    assert caught.value.code == code
    assert Device.objects.count() == 1
    assert AuditLog.objects.count() == before


def test_location_of_another_community_is_refused(world: World, system: Actor) -> None:
    other = do_generate_building(
        system, world.b, number="9", floors_above=1, units=1, rooms_per_floor=1
    )
    with pytest.raises(errors.ValidationFailed) as caught:
        make_device(system, world.a, building_id=other.pk)
    assert "building_id" in caught.value.details
    assert not Device.objects.exists()
    device = make_device(system, world.a)
    with pytest.raises(errors.ValidationFailed):
        do_update_device(system, device, building_id=other.pk)
    device.refresh_from_db()
    assert device.building_id is None


def test_manager_of_another_community_cannot_register_there(world: World) -> None:
    with pytest.raises(errors.NotFound):
        make_device(Actor.for_user(world.manager_b), world.a)
    with pytest.raises(errors.PermissionDenied):
        make_device(Actor.for_user(world.guard_a), world.a)
    assert not Device.objects.exists()


def test_update_changes_only_given_fields_and_audits_them(world: World, system: Actor) -> None:
    device = make_device(system, world.a)
    do_update_device(system, device, name="北门", heartbeat_seconds=120)
    device.refresh_from_db()
    assert (device.name, device.heartbeat_seconds, device.serial) == ("北门", 120, "SN-gate-1")
    log = AuditLog.objects.get(action="devices.device.update")
    assert log.changes == {"heartbeat_seconds": [60, 120], "name": ["东门", "北门"]}
    with pytest.raises(errors.ValidationFailed):
        do_update_device(system, device, heartbeat_seconds=1)
    with pytest.raises(errors.ValidationFailed):
        do_update_device(system, device, code="renamed")


def test_rotation_makes_the_old_secret_stop_working(world: World, system: Actor) -> None:
    device, old = do_register_device(
        system, world.a, kind=DeviceKind.CAMERA, code="cam-1", name="摄像机", serial="C1"
    )
    device, new = do_rotate_credentials(system, device)
    device.refresh_from_db()
    assert device.credential_version == 2
    assert credentials.check_token(device, new)
    assert not credentials.check_token(device, old)
    log = AuditLog.objects.get(action="devices.device.rotate_credentials")
    assert log.sensitive
    assert log.changes == {"credential_version": [1, 2]}


def test_disabling_takes_the_device_offline_and_refuses_commands(
    world: World, system: Actor
) -> None:
    device = make_device(system, world.a)
    status.mark_online(device, status.MESSAGE, timezone.now())
    do_set_device_enabled(system, device, False)
    device.refresh_from_db()
    assert (device.enabled, device.status) == (False, DeviceStatus.OFFLINE)
    assert StatusChange.objects.filter(device=device, reason="disabled").exists()
    with pytest.raises(errors.Conflict) as caught:
        do_queue_command(system, device, CommandName.OPEN_DOOR)
    assert caught.value.code == "device_disabled"
    assert not Command.objects.exists()


def test_desired_config_bumps_the_version_and_queues_set_config(
    world: World, system: Actor
) -> None:
    device = make_device(system, world.a)
    command = do_set_desired_config(system, device, {"volume": 3})
    command2 = do_set_desired_config(system, device, {"volume": 5})
    device.refresh_from_db()
    assert (device.desired_version, device.desired_config) == (2, {"volume": 5})
    assert command.name == command2.name == CommandName.SET_CONFIG
    assert command2.params == {"version": 2, "config": {"volume": 5}}
    assert command2.status == CommandStatus.QUEUED


# Commands ---------------------------------------------------------------------------


def test_open_door_defaults_and_history(world: World) -> None:
    device = make_device(Actor.system("t"), world.a)
    guard = Actor.for_user(world.guard_a)
    before = timezone.now()
    command = do_queue_command(guard, device, CommandName.OPEN_DOOR)
    assert command.params == {"door": 1, "hold_seconds": 5}
    assert (command.max_attempts, command.timeout_seconds, command.created_by) == (
        3,
        30,
        world.guard_a,
    )
    assert command.deadline is not None
    assert command.deadline >= before + dt.timedelta(seconds=30)
    assert [h["status"] for h in command.history] == ["queued"]
    assert command.history[0]["by"] == "guard-a"
    assert AuditLog.objects.filter(action="devices.command.queue", actor=world.guard_a).exists()


@pytest.mark.parametrize(
    ("kind", "name", "params", "code"),
    [
        (DeviceKind.DOOR_CONTROLLER, CommandName.OPEN_DOOR, {"door": 99}, "validation_error"),
        (DeviceKind.DOOR_CONTROLLER, CommandName.OPEN_DOOR, {"lock": "x"}, "validation_error"),
        (
            DeviceKind.DOOR_CONTROLLER,
            CommandName.REBOOT,
            {"delay_seconds": "5"},
            "validation_error",
        ),
        (DeviceKind.SMOKE_DETECTOR, CommandName.OPEN_DOOR, {}, "command_not_supported"),
        (DeviceKind.CAMERA, CommandName.SYNC_CREDENTIALS, {}, "command_not_supported"),
        (DeviceKind.CAMERA, "self_destruct", {}, "validation_error"),
    ],
)
def test_bad_commands_are_refused_and_write_nothing(
    world: World, system: Actor, kind: str, name: str, params: dict[str, object], code: str
) -> None:
    device = make_device(system, world.a, kind=kind)
    before = AuditLog.objects.count()
    with pytest.raises(errors.ValidationFailed) as caught:
        do_queue_command(system, device, name, params)
    assert caught.value.code == code
    assert not Command.objects.exists()
    assert AuditLog.objects.count() == before


def test_guard_cannot_configure_and_front_desk_cannot_command(world: World, system: Actor) -> None:
    device = make_device(system, world.a)
    desk = make_user(system, "desk-a", Role.FRONT_DESK, world.a)
    with pytest.raises(errors.PermissionDenied):
        do_queue_command(Actor.for_user(world.guard_a), device, CommandName.SET_CONFIG)
    with pytest.raises(errors.PermissionDenied):
        do_queue_command(Actor.for_user(desk), device, CommandName.OPEN_DOOR)
    assert not Command.objects.exists()


def test_cancel_only_open_commands(world: World, system: Actor) -> None:
    device = make_device(system, world.a)
    command = do_queue_command(system, device, CommandName.REBOOT)
    cancelled = do_cancel_command(system, command)
    assert cancelled.status == CommandStatus.CANCELLED
    assert [h["status"] for h in cancelled.history] == ["queued", "cancelled"]
    with pytest.raises(errors.Conflict) as caught:
        do_cancel_command(system, command)
    assert caught.value.code == "command_finished"


def test_sent_command_is_retried_then_times_out(world: World, system: Actor) -> None:
    device = make_device(system, world.a)
    command = do_queue_command(system, device, CommandName.OPEN_DOOR, max_attempts=2)
    now = timezone.now()
    assert do_mark_command_sent(command.pk, now) is not None
    assert do_mark_command_sent(command.pk, now) is None  # already sent
    assert tasks.expire_commands(now + dt.timedelta(seconds=29)) == {}
    assert tasks.expire_commands(now + dt.timedelta(seconds=31)) == {"queued": 1}
    command.refresh_from_db()
    assert command.status == CommandStatus.QUEUED
    assert command.deadline == now + dt.timedelta(seconds=61)
    do_mark_command_sent(command.pk, now + dt.timedelta(seconds=32))
    assert tasks.expire_commands(now + dt.timedelta(seconds=63)) == {"timed_out": 1}
    command.refresh_from_db()
    assert (command.status, command.attempts) == (CommandStatus.TIMED_OUT, 2)
    assert command.finished_at == now + dt.timedelta(seconds=63)
    assert [(h["status"], h.get("attempt")) for h in command.history] == [
        ("queued", None),
        ("sent", 1),
        ("queued", 1),
        ("sent", 2),
        ("timed_out", 2),
    ]
    assert tasks.expire_commands(now + dt.timedelta(seconds=999)) == {}


def test_command_never_delivered_times_out_at_its_deadline(world: World, system: Actor) -> None:
    device = make_device(system, world.a)
    command = do_queue_command(system, device, CommandName.OPEN_DOOR, timeout_seconds=10)
    assert command.deadline is not None
    assert tasks.expire_commands(command.deadline + dt.timedelta(seconds=1)) == {"timed_out": 1}
    command.refresh_from_db()
    assert command.status == CommandStatus.TIMED_OUT


# Liveness ---------------------------------------------------------------------------


def test_liveness_takes_silent_devices_offline_and_announces_it(
    world: World,
    system: Actor,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    fast = make_device(system, world.a, code="fast", heartbeat_seconds=10)
    slow = make_device(system, world.a, code="slow", heartbeat_seconds=60)
    quiet = make_device(system, world.a, code="never")  # never connected: stays unknown
    seen = timezone.now()
    status.mark_online(fast, status.MESSAGE, seen)
    status.mark_online(slow, status.MESSAGE, seen)
    seen_events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.check_liveness(seen + dt.timedelta(seconds=30)) == 0
        assert tasks.check_liveness(seen + dt.timedelta(seconds=31)) == 1
        assert tasks.check_liveness(seen + dt.timedelta(seconds=31)) == 0
    fast.refresh_from_db()
    slow.refresh_from_db()
    quiet.refresh_from_db()
    assert (fast.status, slow.status, quiet.status) == ("offline", "online", "unknown")
    change = StatusChange.objects.get(device=fast, status=DeviceStatus.OFFLINE)
    assert change.reason == "heartbeat_timeout"
    assert [(type(e).__name__, e.device_code) for e in seen_events] == [  # type: ignore[attr-defined]
        ("DeviceOffline", "fast")
    ]
    assert tasks.check_liveness(seen + dt.timedelta(seconds=181)) == 1


def test_liveness_tasks_are_registered_every_ten_seconds() -> None:
    periodic = {p.name: p.every for p in worker._periodic}
    assert periodic["devices.check_liveness"] == dt.timedelta(seconds=10)
    assert periodic["devices.expire_commands"] == dt.timedelta(seconds=10)


def test_demo_devices_are_a_mix_placed_in_the_community(db: None) -> None:
    summary = seed_community(residents=20, seed=3, code="demo-d")
    made = seed_devices(summary.community, seed=3)
    devices = Device.objects.filter(community=summary.community)
    assert 18 <= made == devices.count() <= 25
    assert len({d.kind for d in devices}) >= 12
    assert devices.filter(unit__isnull=False).count() >= 3
    assert devices.filter(status=DeviceStatus.ONLINE).exists()
    assert all(d.credential_version == 1 for d in devices)

"""Cross-tenant cases for the devices API; see test_tenancy. Also the devices' test factory."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.test import Client
from django.utils import timezone

from linli.core.tenancy import Actor
from linli.devices.actions import do_queue_command, do_register_device
from linli.devices.choices import CommandName, CommandStatus, DeviceKind, Transport, UpType
from linli.devices.models import Command, Device, DeviceMessage
from linli.places.models import Community
from tests.conftest import World


def make_device(actor: Actor, community: Community, **values: Any) -> Device:
    """Register a door controller (or what ``values`` say) and return it."""
    code = values.pop("code", "gate-1")
    kwargs: dict[str, Any] = {
        "kind": DeviceKind.DOOR_CONTROLLER,
        "name": "东门",
        "serial": f"SN-{code}",
    } | values
    device, _secret = do_register_device(actor, community, code=code, **kwargs)
    return device


Case = Callable[[Client, World, dict[str, object]], None]


def _b_device(w: World) -> Device:
    device = make_device(Actor.system("test"), w.b, code="b-gate")
    DeviceMessage.objects.create(
        community=w.b,
        device=device,
        msg_id="m1",
        type=UpType.TELEMETRY,
        ts=timezone.now(),
        received_at=timezone.now(),
        transport=Transport.HTTP,
        payload={"metrics": {"temp": 21.5}},
    )
    return device


def _b_command(w: World) -> Command:
    return do_queue_command(Actor.system("test"), _b_device(w), CommandName.REBOOT)


def _send(c: Client, method: str, url: str, data: object) -> Any:
    return getattr(c, method)(url, data=json.dumps(data), content_type="application/json")


def _404(response: Any) -> None:
    assert response.status_code == 404, response.content
    assert json.loads(response.content)["code"] == "not_found"


def case_kinds(c: Client, w: World, b: dict[str, object]) -> None:
    # The catalogue is the same for everyone: nothing of B in it.
    assert c.get("/api/v1/device-kinds").status_code == 200


def case_list_devices(c: Client, w: World, b: dict[str, object]) -> None:
    _b_device(w)
    assert json.loads(c.get("/api/v1/devices").content)["items"] == []
    assert json.loads(c.get(f"/api/v1/devices?community_id={w.b.pk}").content)["count"] == 0


def case_register_device(c: Client, w: World, b: dict[str, object]) -> None:
    body = {"kind": "camera", "code": "x", "name": "x", "serial": "x"}
    _404(_send(c, "post", f"/api/v1/communities/{w.b.pk}/devices", body))
    assert not Device.objects.filter(community=w.b).exists()


def case_get_device(c: Client, w: World, b: dict[str, object]) -> None:
    _404(c.get(f"/api/v1/devices/{_b_device(w).pk}"))


def case_update_device(c: Client, w: World, b: dict[str, object]) -> None:
    device = _b_device(w)
    _404(_send(c, "patch", f"/api/v1/devices/{device.pk}", {"name": "hijacked"}))
    assert Device.objects.get(pk=device.pk).name == "东门"


def case_rotate(c: Client, w: World, b: dict[str, object]) -> None:
    device = _b_device(w)
    _404(c.post(f"/api/v1/devices/{device.pk}/rotate-credentials"))
    assert Device.objects.get(pk=device.pk).credential_version == 1


def case_enabled(c: Client, w: World, b: dict[str, object]) -> None:
    device = _b_device(w)
    _404(_send(c, "put", f"/api/v1/devices/{device.pk}/enabled", {"enabled": False}))
    assert Device.objects.get(pk=device.pk).enabled


def case_desired_config(c: Client, w: World, b: dict[str, object]) -> None:
    device = _b_device(w)
    _404(_send(c, "put", f"/api/v1/devices/{device.pk}/desired-config", {"config": {"a": 1}}))
    assert Device.objects.get(pk=device.pk).desired_version == 0


def case_messages(c: Client, w: World, b: dict[str, object]) -> None:
    _404(c.get(f"/api/v1/devices/{_b_device(w).pk}/messages"))


def case_telemetry(c: Client, w: World, b: dict[str, object]) -> None:
    _404(c.get(f"/api/v1/devices/{_b_device(w).pk}/telemetry?metric=temp"))


def case_status_changes(c: Client, w: World, b: dict[str, object]) -> None:
    _404(c.get(f"/api/v1/devices/{_b_device(w).pk}/status-changes"))


def case_list_commands(c: Client, w: World, b: dict[str, object]) -> None:
    _404(c.get(f"/api/v1/devices/{_b_command(w).device_id}/commands"))


def case_queue_command(c: Client, w: World, b: dict[str, object]) -> None:
    device = _b_device(w)
    _404(_send(c, "post", f"/api/v1/devices/{device.pk}/commands", {"name": "open_door"}))
    assert not Command.objects.exists()


def case_get_command(c: Client, w: World, b: dict[str, object]) -> None:
    _404(c.get(f"/api/v1/commands/{_b_command(w).pk}"))


def case_cancel_command(c: Client, w: World, b: dict[str, object]) -> None:
    command = _b_command(w)
    _404(c.post(f"/api/v1/commands/{command.pk}/cancel"))
    assert Command.objects.get(pk=command.pk).status == CommandStatus.QUEUED


DEVICE_CASES: dict[tuple[str, str], Case] = {
    ("get", "/api/v1/device-kinds"): case_kinds,
    ("get", "/api/v1/devices"): case_list_devices,
    ("post", "/api/v1/communities/{community_id}/devices"): case_register_device,
    ("get", "/api/v1/devices/{device_id}"): case_get_device,
    ("patch", "/api/v1/devices/{device_id}"): case_update_device,
    ("post", "/api/v1/devices/{device_id}/rotate-credentials"): case_rotate,
    ("put", "/api/v1/devices/{device_id}/enabled"): case_enabled,
    ("put", "/api/v1/devices/{device_id}/desired-config"): case_desired_config,
    ("get", "/api/v1/devices/{device_id}/messages"): case_messages,
    ("get", "/api/v1/devices/{device_id}/telemetry"): case_telemetry,
    ("get", "/api/v1/devices/{device_id}/status-changes"): case_status_changes,
    ("get", "/api/v1/devices/{device_id}/commands"): case_list_commands,
    ("post", "/api/v1/devices/{device_id}/commands"): case_queue_command,
    ("get", "/api/v1/commands/{command_id}"): case_get_command,
    ("post", "/api/v1/commands/{command_id}/cancel"): case_cancel_command,
}

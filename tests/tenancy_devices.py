"""Cross-tenant cases for the devices API; see test_tenancy. Also the devices' test factory."""

from __future__ import annotations

from typing import Any

from linli.core.tenancy import Actor
from linli.devices.actions import do_register_device
from linli.devices.choices import DeviceKind
from linli.devices.models import Device
from linli.places.models import Community


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

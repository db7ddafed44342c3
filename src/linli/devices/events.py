"""Typed events of the devices app, published after the message that caused them commits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from linli.core.events import event


@event("devices.device_online")
@dataclass(frozen=True)
class DeviceOnline:
    """A device was heard from after being offline or never connected (上线)."""

    device_id: int
    device_code: str
    community_id: int
    at: dt.datetime


@event("devices.event_received")
@dataclass(frozen=True)
class DeviceEventReceived:
    """A device reported an event (door forced, smoke, SOS...), for alarm rules."""

    device_id: int
    device_code: str
    device_kind: str
    community_id: int
    msg_id: str
    event: str
    severity: str
    ts: dt.datetime
    data: dict[str, Any] = field(default_factory=dict)


@event("devices.command_finished")
@dataclass(frozen=True)
class DeviceCommandFinished:
    """A device answered a command: it succeeded or failed."""

    command_id: int
    command_msg_id: str
    device_id: int
    community_id: int
    succeeded: bool
    code: str = ""

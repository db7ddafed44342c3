"""API schemas of devices. Secrets and their hashes never appear, except the one-time secret."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from linli.devices.actions import (
    DEFAULT_ATTEMPTS,
    DEFAULT_TIMEOUT,
    MAX_ATTEMPTS,
    MAX_HEARTBEAT,
    MAX_TIMEOUT,
    MIN_HEARTBEAT,
)
from linli.devices.choices import CommandName, DeviceKind


class DeviceOut(Schema):
    """A device of the registry (no credentials: only their version)."""

    id: int
    community_id: int
    code: str
    name: str
    kind: str
    serial: str
    vendor: str
    model: str
    firmware: str
    building_id: int | None
    unit_id: int | None
    area_id: int | None
    tags: list[str]
    enabled: bool
    status: str
    last_seen_at: dt.datetime | None
    status_changed_at: dt.datetime | None
    heartbeat_seconds: int
    credential_version: int
    credential_issued_at: dt.datetime | None
    desired_config: dict[str, Any]
    desired_version: int
    reported_config: dict[str, Any]
    reported_version: int
    created_at: dt.datetime


class DeviceSecretOut(Schema):
    """A device with its new secret: shown only in this response, never again."""

    device: DeviceOut
    secret: str


_CODE = r"^[A-Za-z0-9_-]{1,64}$"


class DeviceIn(Schema):
    """A device to register."""

    kind: DeviceKind
    code: str = Field(pattern=_CODE, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    serial: str = Field(min_length=1, max_length=64)
    vendor: str = Field("", max_length=100)
    model: str = Field("", max_length=100)
    firmware: str = Field("", max_length=50)
    building_id: int | None = None
    unit_id: int | None = None
    area_id: int | None = None
    tags: list[str] = Field(default_factory=list)
    heartbeat_seconds: int = Field(60, ge=MIN_HEARTBEAT, le=MAX_HEARTBEAT)


class DevicePatch(Schema):
    """Changes to a device; omitted fields stay as they are."""

    name: str | None = Field(None, min_length=1, max_length=100)
    serial: str | None = Field(None, min_length=1, max_length=64)
    vendor: str | None = Field(None, max_length=100)
    model: str | None = Field(None, max_length=100)
    firmware: str | None = Field(None, max_length=50)
    building_id: int | None = None
    unit_id: int | None = None
    area_id: int | None = None
    tags: list[str] | None = None
    heartbeat_seconds: int | None = Field(None, ge=MIN_HEARTBEAT, le=MAX_HEARTBEAT)


class EnabledIn(Schema):
    """Enable or disable a device."""

    enabled: bool


class DesiredConfigIn(Schema):
    """The configuration a device should run."""

    config: dict[str, Any]


class MessageOut(Schema):
    """A message a device sent."""

    id: int
    msg_id: str
    type: str
    ts: dt.datetime
    received_at: dt.datetime
    transport: str
    payload: dict[str, Any]


class PointOut(Schema):
    """One reading of a telemetry metric."""

    ts: dt.datetime
    value: float


class SeriesOut(Schema):
    """A telemetry metric over time."""

    metric: str
    since: dt.datetime
    until: dt.datetime
    points: list[PointOut]


class StatusChangeOut(Schema):
    """A device going online or offline."""

    id: int
    status: str
    at: dt.datetime
    reason: str


class CommandIn(Schema):
    """A command to queue for a device."""

    name: CommandName
    params: dict[str, Any] = Field(default_factory=dict)
    timeout_seconds: int = Field(DEFAULT_TIMEOUT, ge=1, le=MAX_TIMEOUT)
    max_attempts: int = Field(DEFAULT_ATTEMPTS, ge=1, le=MAX_ATTEMPTS)


class CommandOut(Schema):
    """A command and where it is in its life; ``history`` lists every transition."""

    id: int
    device_id: int
    msg_id: str
    name: str
    params: dict[str, Any]
    status: str
    attempts: int
    max_attempts: int
    timeout_seconds: int
    actor_label: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    deadline: dt.datetime | None
    finished_at: dt.datetime | None
    result: dict[str, Any]
    history: list[dict[str, Any]]


class KindOut(Schema):
    """A kind of the device catalogue and the commands it accepts."""

    kind: str
    label: str
    commands: list[str]

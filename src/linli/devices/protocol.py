"""Device protocol v1 (设备协议): the message envelope, its payloads, and their JSON Schemas.

Every message, whatever the transport, is one JSON object::

    {"msg_id": "...", "device_id": "...", "ts": 1764300000000, "type": "...", "payload": {...}}

``ts`` is when the device made the message, in integer epoch milliseconds. Models are
strict and refuse unknown fields; vendors put their own fields in the payload's optional
``ext`` object (the envelope itself is closed). ``docs/device-protocol.md`` is the write-up.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

VERSION = "v1"
MAX_MESSAGE_BYTES = 64 * 1024
MSG_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
# Device ids are the registry's codes (slugs); the same length bound as message ids.
DEVICE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# Year 9999: keeps datetime conversion in range; freshness is checked by the ingest.
MAX_TS = 253_402_300_799_999

MsgId = Annotated[str, Field(pattern=MSG_ID_PATTERN)]
DeviceId = Annotated[str, Field(pattern=DEVICE_ID_PATTERN)]
EpochMillis = Annotated[int, Field(ge=0, le=MAX_TS)]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Ext = dict[str, Any] | None


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)


# Up payloads (上行) ------------------------------------------------------------------


class HeartbeatPayload(_Strict):
    """``heartbeat``: the device is alive; optionally how long it has been running."""

    uptime_s: Annotated[int, Field(ge=0)] | None = None
    ext: Ext = None


class TelemetryPayload(_Strict):
    """``telemetry``: numeric readings by name (temperature, battery, smoke density...)."""

    metrics: dict[Name, float] = Field(max_length=256)
    ext: Ext = None


class EventPayload(_Strict):
    """``event``: something happened (door forced, smoke, SOS pressed, face recognised)."""

    event: Name
    severity: Literal["info", "warning", "critical"] = "info"
    data: dict[str, Any] = Field(default_factory=dict)
    ext: Ext = None


class StatePayload(_Strict):
    """``state``: the configuration the device runs now (answer to a ``config`` message)."""

    config_version: Annotated[int, Field(ge=0)]
    config: dict[str, Any]
    firmware: Annotated[str, Field(max_length=50)] | None = None
    ext: Ext = None


class CommandResultPayload(_Strict):
    """``command_result``: how a command ended, naming the command's ``msg_id``."""

    command_msg_id: MsgId
    ok: bool
    code: Annotated[str, Field(max_length=40)] | None = None
    detail: Annotated[str, Field(max_length=500)] | None = None
    ext: Ext = None


class AccessRequestPayload(_Strict):
    """``access_request``: a terminal read a credential and asks whether to open (请求通行).

    ``value`` is what was read (pass text, card UID, PIN digits). It is used for the
    decision and never stored: the stored copy of the message leaves it out. Face and voice
    terminals send the credential their engine matched and its ``score`` instead.
    """

    point: Annotated[str, Field(max_length=40)] = ""
    method: Literal["qr", "card", "pin", "face", "voice"]
    value: str = Field(default="", max_length=512, exclude=True)
    direction: Literal["in", "out", ""] = ""
    credential_id: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None
    score: Annotated[float, Field(ge=0, le=1)] | None = None
    snapshot: Annotated[str, Field(max_length=200)] = ""
    ext: Ext = None


class _Up(_Strict):
    msg_id: MsgId
    device_id: DeviceId
    ts: EpochMillis


class HeartbeatMessage(_Up):
    """A ``heartbeat`` message."""

    type: Literal["heartbeat"]
    payload: HeartbeatPayload = Field(default_factory=HeartbeatPayload)


class TelemetryMessage(_Up):
    """A ``telemetry`` message."""

    type: Literal["telemetry"]
    payload: TelemetryPayload


class EventMessage(_Up):
    """An ``event`` message."""

    type: Literal["event"]
    payload: EventPayload


class StateMessage(_Up):
    """A ``state`` message."""

    type: Literal["state"]
    payload: StatePayload


class CommandResultMessage(_Up):
    """A ``command_result`` message."""

    type: Literal["command_result"]
    payload: CommandResultPayload


class AccessRequestMessage(_Up):
    """An ``access_request`` message: answered at once by an ``access_decision``."""

    type: Literal["access_request"]
    payload: AccessRequestPayload


UpMessage = Annotated[
    HeartbeatMessage
    | TelemetryMessage
    | EventMessage
    | StateMessage
    | CommandResultMessage
    | AccessRequestMessage,
    Field(discriminator="type"),
]
UP_TYPES = ("heartbeat", "telemetry", "event", "state", "command_result", "access_request")
# Up types a device waits on for an answer: a gateway handles them without waiting to
# fill a batch.
URGENT_TYPES = frozenset({"access_request"})

up_message: TypeAdapter[Any] = TypeAdapter(UpMessage)


def parse_up(raw: bytes) -> Any:
    """Validate one up message given as JSON bytes (raises ``pydantic.ValidationError``)."""
    return up_message.validate_json(raw)


# Down messages (下行) -----------------------------------------------------------------


class CommandPayload(_Strict):
    """``command``: do something (open the door, reboot) before ``deadline_ts``."""

    name: Name
    params: dict[str, Any] = Field(default_factory=dict)
    deadline_ts: EpochMillis


class ConfigPayload(_Strict):
    """``config``: run this configuration; the device answers with a ``state`` message."""

    version: Annotated[int, Field(ge=0)]
    config: dict[str, Any]


class AccessDecisionPayload(_Strict):
    """``access_decision``: open or not, and why, for the ``access_request`` it names.

    ``event_id`` is the access-log entry of the attempt; it is ``null`` when the request
    was answered without a decision (a point the terminal does not serve, a stale request).
    """

    request_msg_id: MsgId
    result: Literal["allow", "deny"]
    reason: Annotated[str, Field(max_length=40)]
    event_id: Annotated[int, Field(ge=1)] | None = None


class _Down(_Strict):
    msg_id: MsgId
    device_id: DeviceId
    ts: EpochMillis


class CommandMessage(_Down):
    """A ``command`` message to a device."""

    type: Literal["command"] = "command"
    payload: CommandPayload


class ConfigMessage(_Down):
    """A ``config`` message to a device."""

    type: Literal["config"] = "config"
    payload: ConfigPayload


class AccessDecisionMessage(_Down):
    """An ``access_decision`` message to a terminal."""

    type: Literal["access_decision"] = "access_decision"
    payload: AccessDecisionPayload


def reply_msg_id(request_msg_id: str) -> str:
    """The id of the platform's answer to a device's request: the same for every copy of
    the request, so a device that sent it twice can tell the answers are one."""
    digest = hashlib.blake2b(request_msg_id.encode(), digest_size=12).hexdigest()
    return f"re-{digest}"


class Ack(_Strict):
    """The platform's answer to an up message: stored (``ok``) or refused with a reason."""

    msg_id: Annotated[str, Field(max_length=64)]
    ok: bool
    reason: Annotated[str, Field(max_length=40)]


# JSON Schemas --------------------------------------------------------------------------

_SCHEMA_SOURCES: dict[str, Any] = {
    "up": up_message,
    "heartbeat": HeartbeatMessage,
    "telemetry": TelemetryMessage,
    "event": EventMessage,
    "state": StateMessage,
    "command_result": CommandResultMessage,
    "access_request": AccessRequestMessage,
    "command": CommandMessage,
    "config": ConfigMessage,
    "access_decision": AccessDecisionMessage,
    "ack": Ack,
}
SCHEMA_NAMES = tuple(_SCHEMA_SOURCES)


def json_schema(name: str) -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of the message called ``name``."""
    source = _SCHEMA_SOURCES[name]
    adapter = source if isinstance(source, TypeAdapter) else TypeAdapter(source)
    schema: dict[str, Any] = adapter.json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"/device/{VERSION}/schemas/{name}.json",
        **schema,
    }

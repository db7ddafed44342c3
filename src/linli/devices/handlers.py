"""What a stored device message does to the rest of the platform, by message type.

The ingest calls :func:`run` for each newly stored message (never for a duplicate), inside
the transaction that stored it: a handler's writes commit with the message or not at all,
and the events it publishes go out after that commit. Other apps add their own handlers
with :func:`on` (the access app turns door events into access-log entries this way); all
handlers of a type run, in the order they were registered.

A handler of a request (an up type the device waits on, such as ``access_request``) returns
a :class:`Reply`: the transport sends it to the device after the commit. A device that sent
the request again (it saw no answer) gets the same answer: :func:`recall` asks the
function registered with :func:`recalls` for it, without handling the request twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.db.models import Q

from linli.core.events import publish
from linli.devices import protocol
from linli.devices.choices import CommandStatus, UpType
from linli.devices.events import DeviceCommandFinished, DeviceEventReceived
from linli.devices.models import Command, Device

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Reply:
    """A down message answering a device's request: its ``type`` and payload."""

    type: str
    payload: dict[str, Any]


Handler = Callable[[Device, Any, dt.datetime, dt.datetime], Reply | None]
Recaller = Callable[[Device, Any, dt.datetime], Reply | None]
_by_type: dict[str, list[Handler]] = {}
_recallers: dict[str, Recaller] = {}

# A result may still arrive after the command was given up as timed out: it did run.
ANSWERABLE = (CommandStatus.QUEUED, CommandStatus.SENT, CommandStatus.TIMED_OUT)


def on(up_type: str) -> Callable[[Handler], Handler]:
    """Register a handler of messages of ``up_type`` (after those registered before it)."""

    def wrap(fn: Handler) -> Handler:
        registered = _by_type.setdefault(up_type, [])
        if fn not in registered:
            registered.append(fn)
        return fn

    return wrap


def recalls(up_type: str) -> Callable[[Recaller], Recaller]:
    """Register the function that finds the answer already given to a request of ``up_type``."""

    def wrap(fn: Recaller) -> Recaller:
        _recallers[up_type] = fn
        return fn

    return wrap


def run(device: Device, message: Any, ts: dt.datetime, now: dt.datetime) -> Reply | None:
    """Apply one newly stored message of ``device`` (sent at ``ts``, received ``now``);
    return the answer to the device if a handler gave one (the first that did)."""
    reply = None
    for fn in _by_type.get(message.type, ()):
        answer = fn(device, message, ts, now)
        if reply is None:
            reply = answer
    return reply


def recall(device: Device, message: Any, now: dt.datetime) -> Reply | None:
    """Return the answer given to a message stored before (``None`` if it needs none)."""
    fn = _recallers.get(message.type)
    return fn(device, message, now) if fn is not None else None


@on(UpType.STATE)
def apply_state(
    device: Device, message: protocol.StateMessage, ts: dt.datetime, now: dt.datetime
) -> None:
    """Record the configuration (and firmware) the device reports running.

    Only a state sent after the one recorded counts: a device resending its backlog after
    an outage must not roll the reported configuration back (one conditional update, so
    two gateways applying two states of one device cannot race).
    """
    p = message.payload
    fields: dict[str, Any] = {
        "reported_config": p.config,
        "reported_version": p.config_version,
        "reported_at": ts,
    }
    if p.firmware is not None:
        fields["firmware"] = p.firmware
    newer = Q(reported_at__isnull=True) | Q(reported_at__lt=ts)
    if Device.objects.filter(newer, pk=device.pk).update(**fields):
        for name, value in fields.items():
            setattr(device, name, value)
    else:
        log.info("state %s of %s is older than the one recorded", message.msg_id, device.code)


@on(UpType.COMMAND_RESULT)
def apply_command_result(
    device: Device, message: protocol.CommandResultMessage, ts: dt.datetime, now: dt.datetime
) -> None:
    """Finish the device's command named by the result: succeeded or failed, with the result."""
    p = message.payload
    result = {"ok": p.ok, "code": p.code or "", "detail": p.detail or "", "msg_id": message.msg_id}
    if p.ext:
        result["ext"] = p.ext
    status = CommandStatus.SUCCEEDED if p.ok else CommandStatus.FAILED
    command = (
        Command.objects.filter(device=device, msg_id=p.command_msg_id, status__in=ANSWERABLE)
        .select_for_update()
        .only("pk", "community_id", "history")
        .first()
    )
    if command is None:
        # Unknown, another device's, or already finished: the message stays stored as sent.
        log.info("command result ignored: device=%s command=%s", device.code, p.command_msg_id)
        return
    history = [
        *command.history,
        {"at": now.isoformat(), "status": str(status), "by": device.code, "msg_id": message.msg_id},
    ]
    Command.objects.filter(pk=command.pk).update(
        status=status, result=result, finished_at=now, history=history
    )
    publish(
        DeviceCommandFinished(
            command_id=command.pk,
            command_msg_id=p.command_msg_id,
            device_id=device.pk,
            community_id=command.community_id,
            succeeded=p.ok,
            code=p.code or "",
        )
    )


@on(UpType.EVENT)
def publish_event(
    device: Device, message: protocol.EventMessage, ts: dt.datetime, now: dt.datetime
) -> None:
    """Announce the device's event to alarm rules (after commit)."""
    p = message.payload
    publish(
        DeviceEventReceived(
            device_id=device.pk,
            device_code=device.code,
            device_kind=device.kind,
            community_id=device.community_id,
            msg_id=message.msg_id,
            event=p.event,
            severity=p.severity,
            ts=ts,
            data=p.data,
        )
    )

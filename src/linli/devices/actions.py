"""The only writers of the device registry and of the commands queued for devices.

Registering a device or rotating its credentials returns the new secret once: only its
hashes are kept. Commands are queued here and delivered by the transports (HTTP device API,
MQTT gateway), which call :func:`do_mark_command_sent`; the liveness task retries and times
them out (:mod:`linli.devices.tasks`). Every transition of a command is appended to its
``history``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from linli.core import audit, errors
from linli.core.tenancy import Actor
from linli.core.validation import full_clean
from linli.devices import credentials, status
from linli.devices.choices import CommandName, CommandStatus, DeviceKind
from linli.devices.models import Command, Device
from linli.places.models import Area, Building, Community, Unit

AUDITED_FIELDS = (
    "code",
    "name",
    "kind",
    "serial",
    "vendor",
    "model",
    "firmware",
    "building",
    "unit",
    "area",
    "tags",
    "heartbeat_seconds",
)
UPDATABLE = (
    "name",
    "serial",
    "vendor",
    "model",
    "firmware",
    "building_id",
    "unit_id",
    "area_id",
    "tags",
    "heartbeat_seconds",
)
MIN_HEARTBEAT = 10
MAX_HEARTBEAT = 86_400
MAX_TAGS = 20
MAX_TAG_CHARS = 32
DEFAULT_TIMEOUT = 30
MAX_TIMEOUT = 3600
DEFAULT_ATTEMPTS = 3
MAX_ATTEMPTS = 10
# A desired configuration as compact UTF-8 JSON: the set_config command that carries it and
# the state that reports it back must each fit in a 64 KiB message.
MAX_CONFIG_BYTES = 32 * 1024
OPEN = (CommandStatus.QUEUED, CommandStatus.SENT)

# Kinds that drive a door or barrier, and kinds that hold residents' access credentials.
DOOR_KINDS = frozenset(
    {
        DeviceKind.DOOR_CONTROLLER,
        DeviceKind.FACE_TERMINAL,
        DeviceKind.VOICE_TERMINAL,
        DeviceKind.CODE_READER,
        DeviceKind.BARRIER_GATE,
    }
)
CREDENTIAL_KINDS = frozenset(
    {
        DeviceKind.DOOR_CONTROLLER,
        DeviceKind.FACE_TERMINAL,
        DeviceKind.VOICE_TERMINAL,
        DeviceKind.CODE_READER,
        DeviceKind.ELEVATOR_CONTROLLER,
    }
)


# Command parameters -------------------------------------------------------------------


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class OpenDoorParams(_Params):
    """``open_door``: which door relay, and how long it stays released."""

    door: int = Field(1, ge=1, le=16)
    hold_seconds: int = Field(5, ge=1, le=60)


class SyncCredentialsParams(_Params):
    """``sync_credentials``: fetch the changed access credentials, or all of them."""

    full: bool = False


class RebootParams(_Params):
    """``reboot``: restart after a delay."""

    delay_seconds: int = Field(0, ge=0, le=3600)


class SetConfigParams(_Params):
    """``set_config``: run the desired configuration of this version."""

    version: int = Field(ge=1)
    config: dict[str, Any]


PARAMS: dict[str, type[_Params]] = {
    CommandName.OPEN_DOOR: OpenDoorParams,
    CommandName.SYNC_CREDENTIALS: SyncCredentialsParams,
    CommandName.REBOOT: RebootParams,
    CommandName.SET_CONFIG: SetConfigParams,
}


def command_kinds(name: str) -> frozenset[str] | None:
    """Return the device kinds that accept command ``name`` (``None``: every kind)."""
    if name == CommandName.OPEN_DOOR:
        return DOOR_KINDS
    if name == CommandName.SYNC_CREDENTIALS:
        return CREDENTIAL_KINDS
    return None


def kind_accepts(kind: str, name: str) -> bool:
    """Say whether devices of ``kind`` accept command ``name``."""
    kinds = command_kinds(name)
    return kinds is None or kind in kinds


def supports(device: Device, name: str) -> bool:
    """Say whether ``device``'s kind accepts command ``name``."""
    return kind_accepts(device.kind, name)


def _validate_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        return PARAMS[name].model_validate(params).model_dump()
    except PydanticError as exc:
        reasons = [
            f"{'.'.join(str(p) for p in e['loc']) or name}: {e['msg']}" for e in exc.errors()
        ]
        raise errors.ValidationFailed(details={"params": reasons}) from exc


# Registry -----------------------------------------------------------------------------


def _tags(tags: Iterable[str]) -> list[str]:
    out: list[str] = []
    for raw in tags:
        tag = str(raw).strip()
        if not tag or tag in out:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise errors.ValidationFailed(
                details={"tags": [_("标签不能超过 %(n)d 个字符。") % {"n": MAX_TAG_CHARS}]}
            )
        out.append(tag)
    if len(out) > MAX_TAGS:
        raise errors.ValidationFailed(
            details={"tags": [_("标签不能超过 %(n)d 个。") % {"n": MAX_TAGS}]}
        )
    return out


def _heartbeat(seconds: int) -> int:
    if not MIN_HEARTBEAT <= seconds <= MAX_HEARTBEAT:
        raise errors.ValidationFailed(
            details={
                "heartbeat_seconds": [
                    _("心跳间隔应在 %(lo)d 到 %(hi)d 秒之间。")
                    % {"lo": MIN_HEARTBEAT, "hi": MAX_HEARTBEAT}
                ]
            }
        )
    return seconds


def check_location(
    community_id: int, building_id: int | None, unit_id: int | None, area_id: int | None
) -> tuple[int | None, int | None, int | None]:
    """Refuse a building, unit or area of another community; fill the building from the unit."""
    elsewhere = _("不属于该社区。")
    if unit_id is not None:
        unit = Unit.objects.filter(pk=unit_id, community_id=community_id).first()
        if unit is None:
            raise errors.ValidationFailed(details={"unit_id": [elsewhere]})
        if building_id is not None and building_id != unit.building_id:
            raise errors.ValidationFailed(details={"unit_id": [_("该单元不在所选楼栋。")]})
        building_id = unit.building_id
    if (
        building_id is not None
        and not Building.objects.filter(pk=building_id, community_id=community_id).exists()
    ):
        raise errors.ValidationFailed(details={"building_id": [elsewhere]})
    if (
        area_id is not None
        and not Area.objects.filter(pk=area_id, community_id=community_id).exists()
    ):
        raise errors.ValidationFailed(details={"area_id": [elsewhere]})
    return building_id, unit_id, area_id


def _check_unique(*, code: str | None, vendor: str, serial: str, exclude: int | None) -> None:
    others = Device.objects.exclude(pk=exclude) if exclude else Device.objects.all()
    if code is not None and others.filter(code=code).exists():
        raise errors.Conflict(
            _("设备编号已被使用。"), code="duplicate_device_code", details={"code": [code]}
        )
    if others.filter(vendor=vendor, serial=serial).exists():
        raise errors.Conflict(
            _("该厂商的序列号已登记。"),
            code="duplicate_device_serial",
            details={"serial": [serial]},
        )


def _save_unique(device: Device, **kwargs: Any) -> None:
    """Save, turning a unique clash lost to a concurrent writer into :class:`Conflict`."""
    try:
        with transaction.atomic():
            device.save(**kwargs)
    except IntegrityError as exc:
        raise errors.Conflict(_("设备编号或序列号已被使用。"), code="duplicate_device") from exc


def check_register_device(
    actor: Actor, community: Community, *, code: str, vendor: str, serial: str
) -> None:
    """Authorise registering a device in ``community`` and refuse a duplicate code or serial."""
    actor.require("device.manage", community.pk)
    _check_unique(code=code, vendor=vendor, serial=serial, exclude=None)


def do_register_device(
    actor: Actor,
    community: Community,
    *,
    kind: str,
    code: str,
    name: str,
    serial: str,
    vendor: str = "",
    model: str = "",
    firmware: str = "",
    building_id: int | None = None,
    unit_id: int | None = None,
    area_id: int | None = None,
    tags: Iterable[str] = (),
    heartbeat_seconds: int = 60,
) -> tuple[Device, str]:
    """Register a device (登记设备); return it and its secret, which is shown only this once."""
    check_register_device(actor, community, code=code, vendor=vendor, serial=serial)
    building_id, unit_id, area_id = check_location(community.pk, building_id, unit_id, area_id)
    device = Device(
        community=community,
        kind=kind,
        code=code,
        name=name,
        serial=serial,
        vendor=vendor,
        model=model,
        firmware=firmware,
        building_id=building_id,
        unit_id=unit_id,
        area_id=area_id,
        tags=_tags(tags),
        heartbeat_seconds=_heartbeat(heartbeat_seconds),
    )
    full_clean(
        device,
        exclude=["community", "building", "unit", "area"],
        validate_unique=False,
        validate_constraints=False,
    )
    secret = credentials.issue(device)
    with transaction.atomic():
        _save_unique(device, force_insert=True)
        audit.record(
            actor,
            "devices.device.create",
            device,
            community_id=community.pk,
            changes=audit.diff({}, audit.snapshot(device, AUDITED_FIELDS))
            | {"credential_version": [None, device.credential_version]},
        )
    return device, secret


def do_update_device(actor: Actor, device: Device, **values: Any) -> Device:
    """Change a device's name, identity, location, tags or heartbeat; only given fields change."""
    actor.require("device.manage", device.community_id)
    unknown = set(values) - set(UPDATABLE)
    if unknown:
        raise errors.ValidationFailed(details={k: [_("不可修改。")] for k in sorted(unknown)})
    if "tags" in values:
        values["tags"] = _tags(values["tags"] or [])
    if "heartbeat_seconds" in values:
        values["heartbeat_seconds"] = _heartbeat(values["heartbeat_seconds"])
    if {"building_id", "unit_id", "area_id"} & set(values):
        building_id, unit_id, area_id = check_location(
            device.community_id,
            values.get("building_id", device.building_id),
            values.get("unit_id", device.unit_id),
            values.get("area_id", device.area_id),
        )
        values.update(building_id=building_id, unit_id=unit_id, area_id=area_id)
    if {"vendor", "serial"} & set(values):
        _check_unique(
            code=None,
            vendor=values.get("vendor", device.vendor),
            serial=values.get("serial", device.serial),
            exclude=device.pk,
        )
    fields = [k.removesuffix("_id") for k in values]
    before = audit.snapshot(device, fields)
    for name, value in values.items():
        setattr(device, name, value)
    full_clean(
        device,
        exclude=["community", "building", "unit", "area"],
        validate_unique=False,
        validate_constraints=False,
    )
    changes = audit.diff(before, audit.snapshot(device, fields))
    if not changes:
        return device
    with transaction.atomic():
        _save_unique(device, update_fields=list(values))
        audit.record(
            actor,
            "devices.device.update",
            device,
            community_id=device.community_id,
            changes=changes,
        )
    return device


def do_set_device_enabled(actor: Actor, device: Device, enabled: bool) -> Device:
    """Enable or disable a device; a disabled one is refused by the transports and goes offline."""
    actor.require("device.manage", device.community_id)
    if device.enabled == enabled:
        return device
    now = timezone.now()
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(enabled=enabled)
        device.enabled = enabled
        if not enabled:
            status.mark_offline(device, status.DISABLED, now)
        audit.record(
            actor,
            "devices.device.enable" if enabled else "devices.device.disable",
            device,
            community_id=device.community_id,
            changes={"enabled": [not enabled, enabled]},
        )
    return device


def do_rotate_credentials(actor: Actor, device: Device) -> tuple[Device, str]:
    """Give a device a new secret (轮换密钥); the old one stops working at once.

    Returns the new secret, which is shown only this once.
    """
    actor.require("device.manage", device.community_id)
    before = device.credential_version
    secret = credentials.issue(device)
    with transaction.atomic():
        device.save(
            update_fields=[
                "secret_hash",
                "signing_key_sealed",
                "mqtt_password_hash",
                "credential_version",
                "credential_issued_at",
            ]
        )
        audit.record(
            actor,
            "devices.device.rotate_credentials",
            device,
            community_id=device.community_id,
            changes={"credential_version": [before, device.credential_version]},
            sensitive=True,
        )
    return device, secret


def _check_config_size(config: dict[str, Any]) -> None:
    try:
        text = json.dumps(config, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:
        raise errors.ValidationFailed(
            details={"config": [_("配置中不能有 NaN 或 Infinity。")]}
        ) from None
    if len(text.encode()) > MAX_CONFIG_BYTES:
        raise errors.ValidationFailed(
            details={"config": [_("配置不能超过 %(n)d KiB。") % {"n": MAX_CONFIG_BYTES // 1024}]}
        )


def do_set_desired_config(actor: Actor, device: Device, config: dict[str, Any]) -> Command:
    """Set the configuration a device should run; bump its version and queue ``set_config``."""
    actor.require("device.manage", device.community_id)
    if not isinstance(config, dict):
        raise errors.ValidationFailed(details={"config": [_("配置应为 JSON 对象。")]})
    _check_config_size(config)
    _check_commandable(device)
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        before = locked.desired_version
        locked.desired_config = config
        locked.desired_version = before + 1
        locked.save(update_fields=["desired_config", "desired_version"])
        device.desired_config, device.desired_version = config, locked.desired_version
        audit.record(
            actor,
            "devices.device.set_config",
            device,
            community_id=device.community_id,
            changes={"desired_version": [before, device.desired_version]},
        )
        return _queue(
            actor,
            device,
            CommandName.SET_CONFIG,
            {"version": device.desired_version, "config": config},
            timeout_seconds=DEFAULT_TIMEOUT,
            max_attempts=DEFAULT_ATTEMPTS,
        )


# Commands -----------------------------------------------------------------------------


def _entry(at: dt.datetime, to: str, **extra: Any) -> dict[str, Any]:
    return {"at": at.isoformat(), "status": str(to), **extra}


def _check_commandable(device: Device) -> None:
    if not device.enabled:
        raise errors.Conflict(_("设备已停用，不能下发指令。"), code="device_disabled")


def check_queue_command(actor: Actor, device: Device, name: str) -> None:
    """Authorise command ``name`` to ``device`` and refuse one its kind does not accept."""
    if name not in PARAMS:
        raise errors.ValidationFailed(details={"name": [_("未知指令。")]})
    # Configuration is a manager's change; the rest are operators' actions.
    perm = "device.manage" if name == CommandName.SET_CONFIG else "device.command"
    actor.require(perm, device.community_id)
    if not supports(device, name):
        raise errors.ValidationFailed(
            _("该类型设备不支持此指令。"),
            code="command_not_supported",
            details={"name": [_("该类型设备不支持此指令。")]},
        )
    _check_commandable(device)


def do_queue_command(
    actor: Actor,
    device: Device,
    name: str,
    params: dict[str, Any] | None = None,
    *,
    timeout_seconds: int = DEFAULT_TIMEOUT,
    max_attempts: int = DEFAULT_ATTEMPTS,
) -> Command:
    """Queue a command for delivery (下发指令): open a door, sync credentials, reboot, configure.

    ``set_config`` without params re-sends the device's current desired configuration.
    """
    check_queue_command(actor, device, name)
    if name == CommandName.SET_CONFIG and not params:
        params = {"version": device.desired_version, "config": device.desired_config}
    if not 1 <= timeout_seconds <= MAX_TIMEOUT:
        raise errors.ValidationFailed(
            details={"timeout_seconds": [_("超时应在 1 到 %(n)d 秒之间。") % {"n": MAX_TIMEOUT}]}
        )
    if not 1 <= max_attempts <= MAX_ATTEMPTS:
        raise errors.ValidationFailed(
            details={"max_attempts": [_("重试次数应在 1 到 %(n)d 之间。") % {"n": MAX_ATTEMPTS}]}
        )
    with transaction.atomic():
        return _queue(
            actor,
            device,
            name,
            params or {},
            timeout_seconds=timeout_seconds,
            max_attempts=max_attempts,
        )


def _queue(
    actor: Actor,
    device: Device,
    name: str,
    params: dict[str, Any],
    *,
    timeout_seconds: int,
    max_attempts: int,
) -> Command:
    clean = _validate_params(name, params)
    now = timezone.now()
    command = Command.objects.create(
        community_id=device.community_id,
        device=device,
        msg_id=f"cmd-{uuid.uuid4().hex}",
        name=name,
        params=clean,
        status=CommandStatus.QUEUED,
        max_attempts=max_attempts,
        timeout_seconds=timeout_seconds,
        created_by=actor.user,
        actor_label=actor.label[:150],
        # Until delivered, the deadline is by when it must be: a door opened late is worse
        # than one not opened. Each delivery sets a fresh one.
        deadline=now + dt.timedelta(seconds=timeout_seconds),
        history=[_entry(now, CommandStatus.QUEUED, by=actor.label[:150])],
    )
    audit.record(
        actor,
        "devices.command.queue",
        command,
        community_id=device.community_id,
        changes={"name": [None, name], "params": [None, clean], "device": [None, device.code]},
    )
    return command


def do_cancel_command(actor: Actor, command: Command) -> Command:
    """Cancel a command not yet answered; a device that already got it may still run it."""
    actor.require("device.command", command.community_id)
    now = timezone.now()
    with transaction.atomic():
        locked = Command.objects.select_for_update().get(pk=command.pk)
        if locked.status not in OPEN:
            raise errors.Conflict(
                _("指令已结束，不能取消。"),
                code="command_finished",
                details={"status": [locked.status]},
            )
        before = locked.status
        locked.status = CommandStatus.CANCELLED
        locked.finished_at = now
        locked.history = [
            *locked.history,
            _entry(now, CommandStatus.CANCELLED, by=actor.label[:150]),
        ]
        locked.save(update_fields=["status", "finished_at", "history"])
        audit.record(
            actor,
            "devices.command.cancel",
            locked,
            community_id=locked.community_id,
            changes={"status": [before, CommandStatus.CANCELLED]},
        )
    return locked


def do_mark_command_sent(command_id: int, at: dt.datetime) -> Command | None:
    """Record that a transport delivered a queued command; return it, or ``None`` if not queued.

    Counts the attempt and sets the deadline of this delivery. Transports call this (as the
    system, not as a user) right after handing the command to the device.
    """
    with transaction.atomic():
        command = (
            Command.objects.select_for_update()
            .filter(pk=command_id, status=CommandStatus.QUEUED)
            .first()
        )
        if command is None:
            return None
        command.status = CommandStatus.SENT
        command.attempts += 1
        command.sent_at = at
        command.deadline = at + dt.timedelta(seconds=command.timeout_seconds)
        command.history = [
            *command.history,
            _entry(at, CommandStatus.SENT, attempt=command.attempts),
        ]
        command.save(update_fields=["status", "attempts", "sent_at", "deadline", "history"])
    return command


def expire_command(command_id: int, now: dt.datetime) -> str | None:
    """Retry or time out one command past its deadline; return its new status (or ``None``).

    A delivered command goes back to the queue while attempts remain, else it timed out;
    one never delivered before its deadline timed out (the device would refuse it late).
    """
    with transaction.atomic():
        command = (
            Command.objects.select_for_update()
            .filter(pk=command_id, status__in=OPEN, deadline__lt=now)
            .first()
        )
        if command is None:
            return None
        if command.status == CommandStatus.SENT and command.attempts < command.max_attempts:
            command.status = CommandStatus.QUEUED
            command.deadline = now + dt.timedelta(seconds=command.timeout_seconds)
            fields = ["status", "deadline", "history"]
        else:
            command.status = CommandStatus.TIMED_OUT
            command.finished_at = now
            fields = ["status", "finished_at", "history"]
        command.history = [
            *command.history,
            _entry(now, command.status, attempt=command.attempts),
        ]
        command.save(update_fields=fields)
    return command.status

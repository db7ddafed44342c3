"""Take in device messages from any transport: validate, store once, apply, then answer.

Both transports (the HTTP device API and the MQTT gateway) hand batches to :func:`accept`.
It refuses bad messages with a reason code (counted in :class:`Rejection`, one log line
each), stores the good ones idempotently by ``(device, msg_id)`` with one multi-row
insert, marks their devices seen (online again, with a status change and a
:class:`DeviceOnline` event), runs the message handlers for newly stored messages, and
commits all of that in one transaction before it returns. A verdict with ``ok`` may be
acknowledged to the device; bad input never raises, a database error does (then nothing
may be acknowledged and the device resends). A request the device waits on (an
``access_request``) comes back with its answer in ``Verdict.reply``, to be sent after the
commit; a repeated request comes back with the answer given the first time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg
import pydantic_core
from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _
from pydantic import ValidationError

from linli.core.events import publish
from linli.devices import handlers, protocol
from linli.devices.choices import DeviceStatus, Transport
from linli.devices.events import DeviceOnline
from linli.devices.models import Device, StatusChange
from linli.places.models import Community

log = logging.getLogger(__name__)

STORED = "stored"
DUPLICATE = "duplicate"
# Rejection codes (also in docs/device-protocol.md).
MALFORMED_JSON = "malformed_json"
SCHEMA = "schema"
TOO_LARGE = "too_large"
UNKNOWN_DEVICE = "unknown_device"
DEVICE_MISMATCH = "device_mismatch"
WRONG_COMMUNITY = "wrong_community"
DISABLED = "disabled"
RATE_LIMITED = "rate_limited"
STALE_TIMESTAMP = "stale_timestamp"

DEFAULT_MAX_AGE_SECONDS = 7 * 24 * 3600  # devices keep messages while offline
DEFAULT_MAX_SKEW_SECONDS = 300
DEFAULT_RATE_PER_SECOND = 50.0
DEFAULT_RATE_BURST = 200.0
# A device's last contact is written at most this often while it stays online: a gateway
# hearing from a device many times a second does not rewrite its row each time. Far below
# the shortest heartbeat timeout (3 × 10 s), so liveness is not affected.
SEEN_RESOLUTION = dt.timedelta(seconds=5)
_DETAIL_CHARS = 200

_msg_id_re = re.compile(protocol.MSG_ID_PATTERN)
_device_id_re = re.compile(protocol.DEVICE_ID_PATTERN)


@dataclass(frozen=True)
class Inbound:
    """One message as a transport received it."""

    raw: bytes  # one JSON message as received
    transport: str  # Transport.HTTP or Transport.MQTT
    device: Device | None  # the authenticated device (HTTP auth, or the MQTT topic's device)
    topic_community: str = ""  # MQTT: community code from the topic ("" for HTTP)


@dataclass(frozen=True)
class Verdict:
    """What became of one message; ``ok`` means it is stored (now or before): acknowledge."""

    ok: bool
    msg_id: str  # "" if unreadable
    reason: str  # "stored" | "duplicate" | a rejection code
    detail: str = ""
    reply: dict[str, Any] | None = None  # the down message answering a request


@dataclass
class _Good:
    index: int
    item: Inbound
    device: Device
    message: Any
    ts: dt.datetime
    payload_json: str


@dataclass
class _Refused:
    index: int
    sender: str
    device: Device | None
    reason: str
    detail: str
    msg_id: str


class RateLimiter:
    """Token buckets per device, in this process (each gateway or web process has its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}

    @staticmethod
    def limits() -> tuple[float, float]:
        """Return the configured ``(rate per second, burst)``."""
        return (
            float(getattr(settings, "LINLI_DEVICE_RATE_PER_SECOND", DEFAULT_RATE_PER_SECOND)),
            float(getattr(settings, "LINLI_DEVICE_RATE_BURST", DEFAULT_RATE_BURST)),
        )

    def take(self, device_id: int, n: int = 1, limits: tuple[float, float] | None = None) -> bool:
        """Take ``n`` tokens from the device's bucket; say whether there were enough.

        ``limits`` (from :meth:`limits`) spares a caller checking many messages the settings
        lookups per message.
        """
        rate, burst = limits or self.limits()
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(device_id, (burst, now))
            tokens = min(burst, tokens + (now - at) * rate)
            if tokens < n:
                self._buckets[device_id] = (tokens, now)
                return False
            self._buckets[device_id] = (tokens - n, now)
            return True

    def reset(self) -> None:
        """Forget every bucket (tests, or after changing the limits)."""
        with self._lock:
            self._buckets.clear()


limiter = RateLimiter()


def accept(batch: Sequence[Inbound], *, rate_limit: bool = True) -> list[Verdict]:
    """Validate, store and apply ``batch`` in one transaction; return one verdict per message.

    ``rate_limit=False`` is for a caller that already took the tokens (the HTTP API refuses a
    whole request at once).
    """
    now = dt.datetime.now(dt.UTC)
    verdicts: list[Verdict | None] = [None] * len(batch)
    good: list[_Good] = []
    refused: list[_Refused] = []
    first_index: dict[tuple[int, str], int] = {}
    copies: dict[int, int] = {}  # a message's index → the index of its first copy in the batch
    community_codes = _community_codes(batch)
    window = _ts_window(now)
    limits = limiter.limits() if rate_limit else None
    for index, item in enumerate(batch):
        outcome = _check(index, item, window, community_codes, limits)
        if isinstance(outcome, _Refused):
            refused.append(outcome)
            verdicts[index] = Verdict(False, outcome.msg_id, outcome.reason, outcome.detail)
            continue
        key = (outcome.device.pk, outcome.message.msg_id)
        if key in first_index:  # the same message twice in one batch
            verdicts[index] = Verdict(True, outcome.message.msg_id, DUPLICATE)
            copies[index] = first_index[key]
            continue
        first_index[key] = index
        good.append(outcome)

    replies: dict[int, dict[str, Any]] = {}
    with transaction.atomic():
        inserted = _insert(good, now) if good else set()
        _mark_seen(good, now)
        for g in good:
            if (g.device.pk, g.message.msg_id) in inserted:
                reply = handlers.run(g.device, g.message, g.ts, now)
            elif g.message.type in protocol.URGENT_TYPES:
                reply = handlers.recall(g.device, g.message, now)
            else:
                continue
            if reply is not None:
                replies[g.index] = _reply_message(g.device, g.message.msg_id, reply, now)
        if refused:
            _count_refusals(refused, now)
    for g in good:
        stored = (g.device.pk, g.message.msg_id) in inserted
        verdicts[g.index] = Verdict(
            True, g.message.msg_id, STORED if stored else DUPLICATE, reply=replies.get(g.index)
        )
    for index, first in copies.items():
        copy = verdicts[index]
        if first in replies and copy is not None:
            verdicts[index] = replace(copy, reply=replies[first])
    return [v for v in verdicts if v is not None]


def _reply_message(
    device: Device, request_msg_id: str, reply: handlers.Reply, now: dt.datetime
) -> dict[str, Any]:
    """The down message carrying ``reply`` to ``device``, named after the request."""
    return {
        "msg_id": protocol.reply_msg_id(request_msg_id),
        "device_id": device.code,
        "ts": int(now.timestamp() * 1000),
        "type": reply.type,
        "payload": reply.payload,
    }


# Checks ---------------------------------------------------------------------------------


def _community_codes(batch: Sequence[Inbound]) -> dict[int, str]:
    """Return the codes of the communities the batch's MQTT devices belong to."""
    codes: dict[int, str] = {}
    missing: set[int] = set()
    for item in batch:
        if not item.topic_community or item.device is None:
            continue
        device = item.device
        if Device.community.is_cached(device):
            codes[device.community_id] = device.community.code
        else:
            missing.add(device.community_id)
    missing -= codes.keys()
    if missing:
        codes.update(Community.objects.filter(pk__in=missing).values_list("pk", "code"))
    return codes


def _ts_window(now: dt.datetime) -> tuple[int, int]:
    """Return the accepted range of message timestamps (epoch ms) at ``now``, read once a batch."""
    now_ms = int(now.timestamp() * 1000)
    max_age = int(getattr(settings, "LINLI_DEVICE_MAX_AGE_SECONDS", DEFAULT_MAX_AGE_SECONDS))
    max_skew = int(getattr(settings, "LINLI_DEVICE_MAX_SKEW_SECONDS", DEFAULT_MAX_SKEW_SECONDS))
    return now_ms - max_age * 1000, now_ms + max_skew * 1000


def _check(
    index: int,
    item: Inbound,
    window: tuple[int, int],
    community_codes: dict[int, str],
    limits: tuple[float, float] | None,
) -> _Good | _Refused:
    """Check one message; ``limits`` is ``None`` when the caller took the rate tokens."""
    device = item.device
    sender = device.code if device is not None else ""

    def refuse(reason: str, detail: str, msg_id: str = "", claimed: str = "") -> _Refused:
        return _Refused(index, sender or claimed, device, reason, detail[:_DETAIL_CHARS], msg_id)

    raw = item.raw
    if len(raw) > protocol.MAX_MESSAGE_BYTES:
        return refuse(
            TOO_LARGE, _("消息超过 %(limit)d 字节。") % {"limit": protocol.MAX_MESSAGE_BYTES}
        )
    try:
        message = protocol.parse_up(raw)
    except ValidationError as exc:
        msg_id, claimed = _readable_ids(raw)
        first = exc.errors(include_url=False, include_context=False)[0]
        if first["type"] == "json_invalid":
            return refuse(MALFORMED_JSON, _("消息不是有效的 JSON。"), msg_id, claimed)
        where = ".".join(str(p) for p in first["loc"])
        return refuse(SCHEMA, f"{where}: {first['msg']}", msg_id, claimed)
    msg_id = message.msg_id
    if _has_nul(raw, message):
        return refuse(SCHEMA, _("字符串不能包含 NUL 字符。"), msg_id)
    if device is None:
        return refuse(UNKNOWN_DEVICE, _("设备未登记或未认证。"), msg_id, message.device_id)
    if message.device_id != device.code:
        return refuse(DEVICE_MISMATCH, _("消息中的 device_id 与认证的设备不符。"), msg_id)
    if not device.enabled:
        return refuse(DISABLED, _("设备已停用。"), msg_id)
    if item.topic_community and community_codes.get(device.community_id) != item.topic_community:
        return refuse(WRONG_COMMUNITY, _("主题中的社区与设备所属社区不符。"), msg_id)
    if not window[0] <= message.ts <= window[1]:
        return refuse(STALE_TIMESTAMP, _("消息时间戳超出允许范围。"), msg_id)
    if limits is not None and not limiter.take(device.pk, limits=limits):
        return refuse(RATE_LIMITED, _("设备发送过快，请稍后重发。"), msg_id)
    ts = dt.datetime.fromtimestamp(message.ts / 1000, dt.UTC)
    payload_json = message.payload.model_dump_json(exclude_unset=True)
    return _Good(index, item, device, message, ts, payload_json)


def _readable_ids(raw: bytes) -> tuple[str, str]:
    """Return the message id and device id of a refused message, where they are readable."""
    try:
        doc = pydantic_core.from_json(raw)
    except ValueError:
        return "", ""
    if not isinstance(doc, dict):
        return "", ""
    msg_id, device_id = doc.get("msg_id"), doc.get("device_id")
    return (
        msg_id if isinstance(msg_id, str) and _msg_id_re.match(msg_id) else "",
        device_id if isinstance(device_id, str) and _device_id_re.match(device_id) else "",
    )


def _has_nul(raw: bytes, message: Any) -> bool:
    r"""Say whether a string in the message holds U+0000 (PostgreSQL's jsonb refuses it)."""
    if b"\\u0000" not in raw:
        return False
    return _strings_hold_nul(message.model_dump())


def _strings_hold_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_strings_hold_nul(k) or _strings_hold_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_strings_hold_nul(v) for v in value)
    return False


# Writes ---------------------------------------------------------------------------------


def _insert(good: list[_Good], now: dt.datetime) -> set[tuple[int, str]]:
    """Insert the messages not stored yet; return the ``(device id, msg_id)`` inserted."""
    if connection.vendor == "postgresql":
        # Parameters sent in binary and bound by the server (Django's cursor binds on the
        # client, where quoting every array element cost more than the insert itself).
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as raw:
            raw.execute(
                _PG_INSERT_MESSAGES,
                [
                    now,
                    [g.device.community_id for g in good],
                    [g.device.pk for g in good],
                    [g.message.msg_id for g in good],
                    [g.message.type for g in good],
                    [g.ts for g in good],
                    [str(g.item.transport) for g in good],
                    [g.payload_json for g in good],
                ],
                binary=True,
            )
            return {(int(d), m) for d, m in raw.fetchall()}
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        [
            g.device.community_id,
            g.device.pk,
            g.message.msg_id,
            g.message.type,
            adapt(g.ts),
            str(g.item.transport),
            g.payload_json,
        ]
        for g in good
    ]
    with connection.cursor() as cursor:
        cursor.execute(_SQLITE_INSERT_MESSAGES, [adapt(now), json.dumps(rows)])
        return {(int(d), m) for d, m in cursor.fetchall()}


def _mark_seen(good: Iterable[_Good], now: dt.datetime) -> None:
    """Set the devices' last contact; bring offline or new ones online, recorded and announced.

    A device this process saw online less than :data:`SEEN_RESOLUTION` ago is skipped: its
    row already says so. (If another process marked it offline meanwhile, say on its last
    will, it comes back online with the first batch after that interval.)
    """
    devices: dict[int, Device] = {}
    for g in good:
        device = g.device
        if device.pk in devices:
            continue
        seen = device.last_seen_at
        if (
            device.status == DeviceStatus.ONLINE
            and seen is not None
            and now - seen < SEEN_RESOLUTION
        ):
            continue
        devices[device.pk] = device
    if not devices:
        return
    ids = sorted(devices)  # one lock order for every process
    # Locked, so two processes hearing from one device never both record it coming online.
    came_online = sorted(
        Device.objects.filter(pk__in=ids)
        .exclude(status=DeviceStatus.ONLINE)
        .select_for_update()
        .values_list("pk", flat=True)
    )
    if came_online:
        Device.objects.filter(pk__in=came_online).update(
            status=DeviceStatus.ONLINE, status_changed_at=now, last_seen_at=now
        )
    rest = [pk for pk in ids if pk not in set(came_online)]
    if rest:
        Device.objects.filter(pk__in=rest).update(last_seen_at=now)
    for device in devices.values():
        device.last_seen_at = now
    if not came_online:
        return
    changes = []
    for pk in came_online:
        device = devices[pk]
        device.status = DeviceStatus.ONLINE
        device.status_changed_at = now
        changes.append(
            StatusChange(
                community_id=device.community_id,
                device_id=pk,
                status=DeviceStatus.ONLINE,
                at=now,
                reason="message",
            )
        )
        publish(
            DeviceOnline(
                device_id=pk, device_code=device.code, community_id=device.community_id, at=now
            )
        )
    StatusChange.objects.bulk_create(changes)


def _count_refusals(refused: list[_Refused], now: dt.datetime) -> None:
    """Add the refusals to the per-sender, per-reason counters, and log each one."""
    grouped: dict[tuple[str, str], list[_Refused]] = {}
    for r in refused:
        log.warning(
            "device message refused: reason=%s sender=%s msg_id=%s detail=%s",
            r.reason,
            r.sender or "-",
            r.msg_id or "-",
            r.detail,
        )
        grouped.setdefault((r.sender, r.reason), []).append(r)
    keys = sorted(grouped)  # one lock order for every process
    devices = [next((r.device for r in grouped[k] if r.device), None) for k in keys]
    columns: list[list[Any]] = [
        [sender for sender, _reason in keys],
        [d.community_id if d else None for d in devices],
        [d.pk if d else None for d in devices],
        [reason for _sender, reason in keys],
        [len(grouped[k]) for k in keys],
        [grouped[k][-1].detail for k in keys],
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_COUNT_REFUSALS, [now, *columns])
        else:
            rows = [list(row) for row in zip(*columns, strict=True)]
            adapt = connection.ops.adapt_datetimefield_value
            cursor.execute(_SQLITE_COUNT_REFUSALS, [adapt(now), json.dumps(rows)])


# Statements of the hot path. PostgreSQL takes whole columns as arrays, SQLite a JSON
# array of rows: either way one statement per batch. A test checks the names against the
# models.
_PG_INSERT_MESSAGES = """
INSERT INTO devices_devicemessage
    (community_id, device_id, msg_id, type, ts, received_at, transport, payload)
SELECT c, d, m, t, s, %b, tr, p::jsonb
FROM unnest(%b::bigint[], %b::bigint[], %b::text[], %b::text[], %b::timestamptz[],
            %b::text[], %b::text[]) AS u(c, d, m, t, s, tr, p)
ON CONFLICT (device_id, msg_id) DO NOTHING
RETURNING device_id, msg_id
"""
_SQLITE_INSERT_MESSAGES = """
INSERT INTO devices_devicemessage
    (community_id, device_id, msg_id, type, ts, received_at, transport, payload)
SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, %s, value ->> 5,
       value ->> 6
FROM json_each(%s) WHERE true
ON CONFLICT (device_id, msg_id) DO NOTHING
RETURNING device_id, msg_id
"""
_UPSERT_COUNTS = """
ON CONFLICT (sender, reason) DO UPDATE SET
    count = devices_rejection.count + excluded.count,
    last_at = excluded.last_at,
    last_detail = excluded.last_detail,
    community_id = COALESCE(excluded.community_id, devices_rejection.community_id),
    device_id = COALESCE(excluded.device_id, devices_rejection.device_id)
"""
_PG_COUNT_REFUSALS = (
    """
INSERT INTO devices_rejection
    (last_at, sender, community_id, device_id, reason, count, last_detail)
SELECT %s, * FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::text[], %s::bigint[],
                         %s::text[])
"""
    + _UPSERT_COUNTS
)
_SQLITE_COUNT_REFUSALS = (
    """
INSERT INTO devices_rejection
    (last_at, sender, community_id, device_id, reason, count, last_detail)
SELECT %s, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5
FROM json_each(%s) WHERE true
"""
    + _UPSERT_COUNTS
)


__all__ = ["Inbound", "RateLimiter", "Transport", "Verdict", "accept", "limiter"]

"""Access requests as device messages: a terminal asks over MQTT (or the message API) and
the gateway decides and answers (网关判定).

A terminal publishes an ``access_request`` (docs/device-protocol.md §2) on
``linli/v1/{community}/{device}/up/access_request``. The gateway does not wait to fill a
batch for it: it stores the message (without the secret it carries), decides it with
:func:`linli.access.decisions.decide` in the same transaction, and after the commit
publishes an ``access_decision`` on ``.../down/access_decision``. Over HTTP the answer
comes back in the message's verdict. The door opens only on an answer, and an answer is
only sent once the attempt is in the access log.

A request sent again with the same ``msg_id`` (the terminal saw no answer) gets the answer
of the first copy, read back from the access log by the message id: a pass is not turned
into ``replayed`` by its own resend. A request older than :data:`MAX_REQUEST_AGE` by its
``ts`` is answered ``stale_request`` without a decision: whoever stood at the door has
gone. Terminals should also set the MQTT 5 message expiry on requests, so a broker does
not deliver one that waited for a gateway.

The terminals and their points are cached per process (:class:`TerminalCache`), shared
with the HTTP decision endpoint.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from linli.access.decisions import Presented, decide
from linli.access.models import AccessEvent, AccessPoint
from linli.devices import handlers
from linli.devices.choices import UpType
from linli.devices.models import Device

CACHE_SECONDS = 5.0
MAX_REQUEST_AGE = dt.timedelta(seconds=30)
DECISION = "access_decision"
# Why a request was answered without a decision.
UNKNOWN_POINT = "unknown_point"
POINT_REQUIRED = "point_required"
STALE_REQUEST = "stale_request"


class TerminalCache:
    """Terminals and their access points per process, read again after :data:`CACHE_SECONDS`.

    A decision needs the terminal (to check its token) and its points on every request;
    reading them each time cost more than the decision itself. So a terminal disabled,
    re-keyed or moved to another point is seen here within :data:`CACHE_SECONDS`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._devices: dict[str, tuple[float, Device | None]] = {}
        self._points: dict[int, tuple[float, dict[str, AccessPoint]]] = {}

    def device(self, code: str) -> Device | None:
        """The device with this code (``None`` if there is none)."""
        with self._lock:
            hit = self._devices.get(code)
        if hit is None or time.monotonic() - hit[0] > CACHE_SECONDS:
            found = Device.objects.filter(code=code).first()
            hit = (time.monotonic(), found)
            with self._lock:
                self._devices[code] = hit
        return hit[1]

    def points(self, device: Device) -> dict[str, AccessPoint]:
        """The access points the terminal serves, by code."""
        with self._lock:
            hit = self._points.get(device.pk)
        if hit is None or time.monotonic() - hit[0] > CACHE_SECONDS:
            found = {p.code: p for p in AccessPoint.objects.filter(devices=device)}
            hit = (time.monotonic(), found)
            with self._lock:
                self._points[device.pk] = hit
        return hit[1]

    def forget(self) -> None:
        """Drop everything (tests; after a change made in this process)."""
        with self._lock:
            self._devices.clear()
            self._points.clear()


terminals = TerminalCache()


def find_point(device: Device, code: str) -> AccessPoint | str:
    """The point ``code`` of the terminal (its only point when ``code`` is empty), or why
    there is none: :data:`UNKNOWN_POINT` or :data:`POINT_REQUIRED`."""
    points = terminals.points(device)
    if code:
        return points.get(code) or UNKNOWN_POINT
    if len(points) == 1:
        return next(iter(points.values()))
    return POINT_REQUIRED if points else UNKNOWN_POINT


def _answer(msg_id: str, result: str, reason: str, event_id: int | None) -> handlers.Reply:
    return handlers.Reply(
        DECISION,
        {"request_msg_id": msg_id, "result": result, "reason": reason, "event_id": event_id},
    )


@handlers.on(UpType.ACCESS_REQUEST)
def decide_request(
    device: Device, message: Any, ts: dt.datetime, now: dt.datetime
) -> handlers.Reply:
    """Decide a terminal's request (in the transaction storing it) and say what to answer."""
    p = message.payload
    if now - ts > MAX_REQUEST_AGE:
        return _answer(message.msg_id, "deny", STALE_REQUEST, None)
    point = find_point(device, p.point)
    if isinstance(point, str):
        return _answer(message.msg_id, "deny", point, None)
    decision = decide(
        point,
        Presented.asked(p),
        device_id=device.pk,
        now=now,
        msg_id=message.msg_id,
    )
    answer = decision.as_dict()
    return _answer(message.msg_id, answer["result"], answer["reason"], answer["event_id"])


@handlers.recalls(UpType.ACCESS_REQUEST)
def recall_decision(device: Device, message: Any, now: dt.datetime) -> handlers.Reply | None:
    """Answer a repeated request as the first copy was answered.

    A first copy answered without a decision (unknown point, stale) left no log entry: the
    repeat is handled afresh, which gives the same answer unless the terminal's points
    changed in between.
    """
    row = (
        AccessEvent.objects.filter(device_id=device.pk, msg_id=message.msg_id)
        .values_list("pk", "result", "reason")
        .first()
    )
    if row is None:
        ts = dt.datetime.fromtimestamp(message.ts / 1000, dt.UTC)
        return decide_request(device, message, ts, now)
    event_id, result, reason = row
    return _answer(message.msg_id, result, reason, event_id)

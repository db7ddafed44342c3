"""HTTP device API v1 (设备 HTTP 接口): messages up, commands down, the protocol's schemas.

Plain Django views (no sessions, no CSRF: devices authenticate every request). A device
authenticates with ``Authorization: Bearer <device_id>:<secret>`` or with an HMAC signature
(``X-Linli-Device``, ``X-Linli-Timestamp``, ``X-Linli-Nonce``, ``X-Linli-Signature``).
Errors are ``{"code", "message", "details"}``; a 2xx answer is only given after the
messages it acknowledges are committed.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
import time
from typing import Any

import pydantic_core
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from linli.core.wsgi import Answer
from linli.devices import credentials, ingest, protocol
from linli.devices.actions import do_mark_command_sent
from linli.devices.choices import CommandStatus, Transport
from linli.devices.models import Command, Device, DeviceNonce

MAX_BODY_BYTES = 1024 * 1024
MAX_BATCH = 100
SIGNATURE_WINDOW_SECONDS = 300
MAX_WAIT_SECONDS = 20
DEFAULT_MAX_WAITERS = 4  # of a web process's threads (the embedded server has 8)
RETRY_AFTER_SECONDS = 5
NONCE_PURGE_EVERY_SECONDS = 60
_nonce_re = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


class DeviceRefused(Exception):
    """A request refused as a whole: HTTP status, machine code, translated message."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details if details is not None else {}

    def answer(self) -> Answer:
        """The error as the API's ``{code, message, details}`` answer: status, body and
        headers."""
        body = {"code": self.code, "message": self.message, "details": self.details}
        headers = (
            [("WWW-Authenticate", 'Bearer realm="linli-device"')] if self.status == 401 else []
        )
        return self.status, body, headers

    def response(self) -> JsonResponse:
        """Return the error as the API's ``{code, message, details}`` answer."""
        status, body, headers = self.answer()
        answer = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
        for name, value in headers:
            answer[name] = value
        return answer


def refusing(view: Any) -> Any:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response: HttpResponse = view(request, *args, **kwargs)
        except DeviceRefused as refused:
            return refused.response()
        return response

    return wrapped


# Authentication -------------------------------------------------------------------------


def _bad_credentials() -> DeviceRefused:
    return DeviceRefused(401, "bad_credentials", _("设备编号或密钥错误。"))


def _find(code: str) -> Device:
    device = Device.objects.select_related("community").filter(code=code).first()
    if device is None:
        raise _bad_credentials()  # the same answer as a wrong secret: ids are not probed
    return device


def authenticate(request: HttpRequest, body: bytes) -> Device:
    """Return the device the request is from, or raise :class:`DeviceRefused` (401)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        code, _sep, secret = header[len("Bearer ") :].strip().partition(":")
        device = _find(code)
        if not credentials.check_token(device, secret):
            raise _bad_credentials()
    elif "X-Linli-Signature" in request.headers:
        device = _check_signed(request, body)
    else:
        raise DeviceRefused(401, "not_authenticated", _("请提供设备令牌或签名。"))
    if not device.enabled:
        raise DeviceRefused(401, "disabled", _("设备已停用。"))
    return device


def _check_signed(request: HttpRequest, body: bytes) -> Device:
    code = request.headers.get("X-Linli-Device", "")
    timestamp = request.headers.get("X-Linli-Timestamp", "")
    nonce = request.headers.get("X-Linli-Nonce", "")
    given = request.headers.get("X-Linli-Signature", "")
    if not (timestamp.isdigit() and len(timestamp) <= 12) or not _nonce_re.match(nonce):
        raise DeviceRefused(
            401, "bad_signature", _("签名请求头不完整或格式错误。"), {"headers": "X-Linli-*"}
        )
    if abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
        raise DeviceRefused(
            401,
            "stale_timestamp",
            _("请求时间戳与服务器时间相差超过 %(s)d 秒。") % {"s": SIGNATURE_WINDOW_SECONDS},
            {"server_time": int(time.time())},
        )
    device = _find(code)
    if not credentials.check_signature(device, timestamp, nonce, body, given):
        raise DeviceRefused(401, "bad_signature", _("签名不正确。"))
    # Only a correctly signed request uses up its nonce, so nobody can burn a device's nonces.
    if not _first_use_of_nonce(device, nonce):
        raise DeviceRefused(401, "replayed", _("该随机数已使用过，请求被视为重放。"))
    return device


def _first_use_of_nonce(device: Device, nonce: str) -> bool:
    """Remember ``nonce`` for the signature window; say whether it was new for the device."""
    now = dt.datetime.now(dt.UTC)
    _purge_nonces(now)
    try:
        with transaction.atomic():
            DeviceNonce.objects.create(device=device, nonce=nonce, seen_at=now)
    except IntegrityError:
        return False
    return True


_purged_at = [0.0]  # monotonic time of this process's last purge


def _purge_nonces(now: dt.datetime) -> None:
    """Delete nonces older than twice the window (a timestamp may be early or late), each minute."""
    if time.monotonic() - _purged_at[0] < NONCE_PURGE_EVERY_SECONDS:
        return
    _purged_at[0] = time.monotonic()
    keep = dt.timedelta(seconds=2 * SIGNATURE_WINDOW_SECONDS)
    DeviceNonce.objects.filter(seen_at__lt=now - keep).delete()


def _limit(device: Device, count: int) -> None:
    if not ingest.limiter.take(device.pk, count):
        rate = getattr(settings, "LINLI_DEVICE_RATE_PER_SECOND", ingest.DEFAULT_RATE_PER_SECOND)
        refused = DeviceRefused(
            429,
            "rate_limited",
            _("设备发送过快，请稍后重发。"),
            {"messages": count, "rate_per_second": rate},
        )
        raise refused


# Views ----------------------------------------------------------------------------------


@csrf_exempt
@require_POST
@refusing
def messages(request: HttpRequest) -> HttpResponse:
    """Take one message or a batch (a JSON array of at most 100); answer a verdict each."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_BODY_BYTES:
        raise _too_large()
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        raise _too_large()
    device = authenticate(request, body)
    try:
        doc = pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        raise DeviceRefused(
            400, "malformed_json", _("请求体不是有效的 JSON。"), {"error": str(exc)[:200]}
        ) from None
    if isinstance(doc, list):
        if not doc:
            raise DeviceRefused(400, "empty_batch", _("批量消息不能为空。"))
        if len(doc) > MAX_BATCH:
            raise DeviceRefused(
                413,
                "too_large",
                _("一批最多 %(n)d 条消息。") % {"n": MAX_BATCH},
                {"max_batch": MAX_BATCH, "given": len(doc)},
            )
        raws = [pydantic_core.to_json(item) for item in doc]
    else:
        raws = [body]
    _limit(device, len(raws))
    verdicts = ingest.accept(
        [ingest.Inbound(raw, Transport.HTTP, device) for raw in raws], rate_limit=False
    )
    results = [
        {
            "msg_id": v.msg_id,
            "ok": v.ok,
            "reason": v.reason,
            **({"detail": v.detail} if v.detail else {}),
            **({"reply": v.reply} if v.reply is not None else {}),
        }
        for v in verdicts
    ]
    return JsonResponse(
        {"results": results, "stored": sum(v.reason == ingest.STORED for v in verdicts)},
        json_dumps_params={"ensure_ascii": False},
    )


def _too_large() -> DeviceRefused:
    return DeviceRefused(
        413,
        "too_large",
        _("请求体超过 %(n)d 字节。") % {"n": MAX_BODY_BYTES},
        {"max_bytes": MAX_BODY_BYTES},
    )


@csrf_exempt
@require_GET
@refusing
def commands(request: HttpRequest) -> HttpResponse:
    """Hand the device its queued commands, marking them sent (configuration is ``set_config``).

    ``?wait=N`` (at most 20 s) keeps the request open until a command is queued. A waiting
    request holds one of the web process's worker threads, so at most
    ``LINLI_DEVICE_MAX_WAITERS`` wait at once in a process; beyond that the answer comes at
    once (the queued commands, perhaps none) with ``Retry-After``, and the device polls
    again after that many seconds.
    """
    device = authenticate(request, b"")
    wait = request.GET.get("wait", "0")
    seconds = min(int(wait), MAX_WAIT_SECONDS) if wait.isdigit() else 0
    sent = _deliver(device)
    busy = False
    if not sent and seconds:
        if waiters.acquire():
            try:
                until = time.monotonic() + seconds
                while not sent and time.monotonic() < until:
                    time.sleep(0.5)
                    sent = _deliver(device)
            finally:
                waiters.release()
        else:
            busy = True
    down: list[dict[str, Any]] = [_command_message(device, c) for c in sent]
    answer = JsonResponse({"commands": down}, json_dumps_params={"ensure_ascii": False})
    if busy:
        answer["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return answer


class Waiters:
    """How many long polls wait in this process: each holds a worker thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def acquire(self) -> bool:
        """Take a place if one is free (the limit is read from the settings each time)."""
        limit = int(getattr(settings, "LINLI_DEVICE_MAX_WAITERS", DEFAULT_MAX_WAITERS))
        with self._lock:
            if self.count >= limit:
                return False
            self.count += 1
            return True

    def release(self) -> None:
        """Give a place back."""
        with self._lock:
            self.count -= 1


waiters = Waiters()


def _deliver(device: Device) -> list[Command]:
    """Mark the device's queued, unexpired commands sent (each once, even under races)."""
    now = dt.datetime.now(dt.UTC)
    with transaction.atomic():
        queued = (
            Command.objects.filter(device=device, status=CommandStatus.QUEUED)
            .exclude(deadline__lte=now)  # too late: the worker times it out
            .select_for_update(skip_locked=True)
            .order_by("created_at", "id")
            .values_list("pk", flat=True)[:MAX_BATCH]
        )
        sent = [do_mark_command_sent(pk, now) for pk in list(queued)]
    return [c for c in sent if c is not None]


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def _command_message(device: Device, command: Command) -> dict[str, Any]:
    sent_at = command.sent_at or dt.datetime.now(dt.UTC)
    return protocol.CommandMessage(
        msg_id=command.msg_id,
        device_id=device.code,
        ts=_ms(sent_at),
        payload=protocol.CommandPayload(
            name=command.name, params=command.params, deadline_ts=_ms(command.deadline or sent_at)
        ),
    ).model_dump(mode="json")


@require_GET
def schema_index(request: HttpRequest) -> HttpResponse:
    """List the protocol's JSON Schemas."""
    urls = {name: reverse("device_v1:schema", args=[name]) for name in protocol.SCHEMA_NAMES}
    return JsonResponse(
        {
            "version": protocol.VERSION,
            "max_message_bytes": protocol.MAX_MESSAGE_BYTES,
            "schemas": urls,
        }
    )


@functools.cache
def _schema(name: str) -> dict[str, Any]:
    return protocol.json_schema(name)


@require_GET
def schema(request: HttpRequest, name: str) -> HttpResponse:
    """Serve the JSON Schema called ``name``."""
    if name not in protocol.SCHEMA_NAMES:
        return DeviceRefused(404, "not_found", _("没有这个协议模式。")).response()
    response = JsonResponse(_schema(name), json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/schema+json"
    response["Cache-Control"] = "public, max-age=3600"
    return response

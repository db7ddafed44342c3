"""Terminals' access API (门禁终端接口), under ``/device/v1/access/``.

Terminals authenticate like any device (token or HMAC signature, see
docs/device-protocol.md §6). A terminal may only ask about the access points it is
attached to.

- ``POST decide``: ``{"point": "b1", "method": "qr", "value": "LP1:…", "direction": "in"}``
  (``point`` may be left out by a terminal attached to one point; face and voice send the
  matched ``credential_id`` and ``score`` instead of ``value``) → ``{"result": "allow" |
  "deny", "reason": …, "event_id": …}``. Every attempt is logged.
- ``GET keys``: the community's public keys for verifying passes offline.
- ``GET allowlist[?since=<version>]``: the offline allowlist of the terminal's points,
  full or the changes after ``since`` (:mod:`linli.access.sync`).
- ``POST events``: ``{"events": [{"msg_id", "ts" (epoch ms), "point", "method",
  "result", "reason", "credential_id"?, "direction"?}]}``, decisions made offline (at most
  500 per request), stored once per message id → ``{"results": [{"msg_id", "status"}]}``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import pydantic
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from linli.access import keys, sync
from linli.access.choices import CredentialKind
from linli.access.decisions import Presented, decide
from linli.access.models import AccessPoint
from linli.access.requests import POINT_REQUIRED, find_point, terminals
from linli.core.wsgi import Answer
from linli.devices import credentials
from linli.devices.http import DeviceRefused, authenticate, refusing
from linli.devices.models import Device

MAX_BODY_BYTES = 16 * 1024


class DecideRequest(pydantic.BaseModel):
    """What a terminal sends to ask for a decision."""

    model_config = pydantic.ConfigDict(extra="forbid", str_max_length=512)

    point: str = pydantic.Field(default="", max_length=40)
    method: CredentialKind
    value: str = ""
    direction: str = pydantic.Field(default="", pattern=r"^(in|out|)$")
    credential_id: int | None = pydantic.Field(default=None, ge=1)
    score: float | None = pydantic.Field(default=None, ge=0, le=1)
    snapshot: str = pydantic.Field(default="", max_length=200)


M = TypeVar("M", bound=pydantic.BaseModel)


def _parse(model: type[M], body: bytes) -> M:
    """Validate a JSON body; a bad one is a 400 naming each faulty field."""
    try:
        return model.model_validate_json(body)
    except pydantic.ValidationError as exc:
        details: dict[str, list[str]] = {}
        for error in exc.errors(include_url=False, include_context=False):
            where = ".".join(str(p) for p in error["loc"]) or "body"
            details.setdefault(where, []).append(error["msg"])
        raise DeviceRefused(400, "validation_error", _("请求格式错误。"), details) from None


def _json(data: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def terminal_of(request: HttpRequest, body: bytes) -> Device:
    """The requesting terminal: a token checked against the cached device, or a signature
    (checked in full, with its nonce, by the device API)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return authenticate(request, body)
    return _token_terminal(header)


def _token_terminal(header: str) -> Device:
    """The terminal of a ``Bearer <code>:<secret>`` header, from the terminal cache."""
    code, _sep, secret = header[len("Bearer ") :].strip().partition(":")
    device = terminals.device(code)
    if device is None or not credentials.check_token(device, secret):
        raise DeviceRefused(401, "bad_credentials", _("设备编号或密钥错误。"))
    if not device.enabled:
        raise DeviceRefused(401, "disabled", _("设备已停用。"))
    return device


def point_of(device: Device, code: str) -> AccessPoint:
    point = find_point(device, code)
    if point == POINT_REQUIRED:
        raise DeviceRefused(400, "point_required", _("终端关联多个通行点，请指明通行点。"))
    if isinstance(point, str):
        raise DeviceRefused(
            404, "unknown_point", _("该终端未关联此通行点。"), {"point": [code or None]}
        )
    return point


@csrf_exempt
@require_POST
@refusing
def decide_view(request: HttpRequest) -> HttpResponse:
    """Decide one access attempt for a terminal."""
    body = request.body
    _check_size(len(body))
    return _json(_decided(terminal_of(request, body), body))


def _check_size(length: int) -> None:
    if length > MAX_BODY_BYTES:
        raise DeviceRefused(413, "too_large", _("请求体过大。"))


def _decided(device: Device, body: bytes) -> dict[str, Any]:
    asked = _parse(DecideRequest, body)
    point = point_of(device, asked.point)
    return decide(point, Presented.asked(asked), device_id=device.pk).as_dict()


def decide_direct(environ: dict[str, Any]) -> Answer | None:
    """:func:`decide_view` as a direct endpoint (:mod:`linli.core.wsgi`): the same answers
    for a token-authenticated POST; anything else (another method, a signed request, a body
    without a length) is left to the view."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    length = environ.get("CONTENT_LENGTH", "")
    if environ.get("REQUEST_METHOD") != "POST" or not header.startswith("Bearer "):
        return None
    if not length.isdigit():
        return None
    try:
        _check_size(int(length))
        body = environ["wsgi.input"].read(int(length))
        return 200, _decided(_token_terminal(header), body), []
    except DeviceRefused as refused:
        return refused.answer()


@require_GET
@refusing
def keys_view(request: HttpRequest) -> HttpResponse:
    """The community's public pass keys (and revoked key ids) for offline verification."""
    device = authenticate(request, b"")
    return _json(keys.public_keys_document(device.community_id))


@require_GET
@refusing
def allowlist_view(request: HttpRequest) -> HttpResponse:
    """The terminal's offline allowlist (full, or incremental after ``since``)."""
    device = authenticate(request, b"")
    raw = request.GET.get("since", "")
    if raw and not raw.isdigit():
        raise DeviceRefused(400, "validation_error", _("请求格式错误。"), {"since": [raw[:20]]})
    return _json(sync.allowlist(device, int(raw) if raw else None))


class UploadedEvent(pydantic.BaseModel):
    """One decision a terminal made offline."""

    model_config = pydantic.ConfigDict(extra="forbid", str_max_length=200)

    msg_id: str = pydantic.Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    ts: int = pydantic.Field(ge=0)
    point: str = pydantic.Field(max_length=40)
    method: CredentialKind
    result: str = pydantic.Field(pattern=r"^(allow|deny)$")
    reason: str = pydantic.Field(pattern=r"^[a-z_]{1,32}$")
    credential_id: int | None = pydantic.Field(default=None, ge=1)
    direction: str = pydantic.Field(default="", pattern=r"^(in|out|)$")


class UploadRequest(pydantic.BaseModel):
    """A batch of offline decisions."""

    model_config = pydantic.ConfigDict(extra="forbid")

    events: list[UploadedEvent] = pydantic.Field(min_length=1, max_length=sync.MAX_UPLOAD)


@csrf_exempt
@require_POST
@refusing
def events_view(request: HttpRequest) -> HttpResponse:
    """Store decisions a terminal made offline (each once)."""
    body = request.body
    if len(body) > 512 * 1024:
        raise DeviceRefused(413, "too_large", _("请求体过大。"))
    device = authenticate(request, body)
    batch = _parse(UploadRequest, body)
    now = dt.datetime.now(dt.UTC)
    events = []
    for e in batch.events:
        at = dt.datetime.fromtimestamp(e.ts / 1000, dt.UTC)
        if at > now + dt.timedelta(minutes=5):
            raise DeviceRefused(400, "validation_error", _("请求格式错误。"), {"ts": [e.msg_id]})
        events.append(
            sync.Uploaded(
                msg_id=e.msg_id,
                at=at,
                point=e.point,
                method=e.method,
                result=e.result,
                reason=e.reason,
                credential_id=e.credential_id,
                direction=e.direction,
            )
        )
    return _json({"results": sync.upload_events(device, events)})

"""Terminals' access API (门禁终端接口), under ``/device/v1/access/``.

Terminals authenticate like any device (token or HMAC signature, see
docs/device-protocol.md §6). A terminal may only ask about the access points it is
attached to.

- ``POST decide``: ``{"point": "b1", "method": "qr", "value": "LP1:…", "direction": "in"}``
  (``point`` may be left out by a terminal attached to one point; face and voice send the
  matched ``credential_id`` and ``score`` instead of ``value``) → ``{"result": "allow" |
  "deny", "reason": …, "event_id": …}``. Every attempt is logged.
- ``GET keys``: the community's public keys for verifying passes offline.
"""

from __future__ import annotations

from typing import Any

import pydantic
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from linli.access import keys
from linli.access.choices import CredentialKind
from linli.access.decisions import Presented, decide
from linli.access.models import AccessPoint
from linli.devices.http import DeviceRefused, _refusing, authenticate
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


def _json(data: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _point_of(device: Device, code: str) -> AccessPoint:
    points = AccessPoint.objects.filter(devices=device)
    if code:
        points = points.filter(code=code)
    found = list(points[:2])
    if len(found) == 1:
        return found[0]
    if not found:
        raise DeviceRefused(
            404, "unknown_point", _("该终端未关联此通行点。"), {"point": [code or None]}
        )
    raise DeviceRefused(400, "point_required", _("终端关联多个通行点，请指明通行点。"))


@csrf_exempt
@require_POST
@_refusing
def decide_view(request: HttpRequest) -> HttpResponse:
    """Decide one access attempt for a terminal."""
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        raise DeviceRefused(413, "too_large", _("请求体过大。"))
    device = authenticate(request, body)
    try:
        asked = DecideRequest.model_validate_json(body)
    except pydantic.ValidationError as exc:
        details: dict[str, list[str]] = {}
        for error in exc.errors(include_url=False, include_context=False):
            where = ".".join(str(p) for p in error["loc"]) or "body"
            details.setdefault(where, []).append(error["msg"])
        raise DeviceRefused(400, "validation_error", _("请求格式错误。"), details) from None
    point = _point_of(device, asked.point)
    decision = decide(
        point,
        Presented(
            method=asked.method,
            value=asked.value,
            credential_id=asked.credential_id,
            score=asked.score,
            direction=asked.direction,
            snapshot=asked.snapshot,
        ),
        device_id=device.pk,
    )
    return _json(decision.as_dict())


@require_GET
@_refusing
def keys_view(request: HttpRequest) -> HttpResponse:
    """The community's public pass keys (and revoked key ids) for offline verification."""
    device = authenticate(request, b"")
    return _json(keys.public_keys_document(device.community_id))

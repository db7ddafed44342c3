"""Face doors: a terminal's photo in, an access decision out.

``POST /device/v1/access/face?point=<code>&direction=in|out`` with the photo as the body
(``Content-Type: image/jpeg`` or ``image/png``, at most 10 MB), authenticated like every
device request (docs/device-protocol.md §6). The photo is checked as a door checks it
(one face, large, sharp, lit and frontal enough: :data:`linli.biometrics.face.DOOR`),
embedded, and searched open-set in the community's face gallery; the match (or "unknown")
goes to the access decision (:func:`linli.access.decisions.decide`), which checks the
credential, the consent and the person's rights at the point and logs the attempt with
its score. The answer is the decision's, as for ``POST decide``; a photo the door cannot
use is answered 422 with the reason (``no_face``, ``several_faces``, ``too_blurred`` …) and
is not an access attempt. The photo is not kept.
"""

from __future__ import annotations

import dataclasses

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from linli.access.choices import CredentialKind, Modality
from linli.access.decisions import Decision, Presented, decide
from linli.access.http import point_of, terminal_of
from linli.access.models import AccessPoint
from linli.biometrics import face, images
from linli.biometrics.engines import BiometricRefused
from linli.biometrics.gallery import galleries
from linli.biometrics.search import Match, search
from linli.devices.http import DeviceRefused, refusing


@dataclasses.dataclass(frozen=True)
class FaceDecision:
    """The decision and what led to it."""

    decision: Decision
    match: Match
    quality: face.Quality


def identify(community_id: int, data: bytes) -> tuple[Match, face.Quality]:
    """Search the community's face gallery for the face in ``data`` (open set)."""
    decoded = images.decode(data)
    engine = face.engine()
    found, quality = face.assess(decoded.pixels, engine.detect(decoded.pixels), face.DOOR)
    probe = engine.embed(decoded.pixels, found)
    gallery = galleries.current(community_id, Modality.FACE, engine.name, engine.metric)
    match = search(gallery, probe, threshold=face.DOOR_THRESHOLD, margin=face.DOOR_MARGIN)
    return match, quality


def decide_face(
    point: AccessPoint, data: bytes, *, device_id: int | None = None, direction: str = ""
) -> FaceDecision:
    """Identify the face in ``data`` and decide the attempt at ``point`` (logged)."""
    match, quality = identify(point.community_id, data)
    score = None if match.distance is None else round(max(0.0, 1.0 - match.distance), 4)
    presented = Presented(
        method=CredentialKind.FACE,
        credential_id=match.credential_id,
        score=score,
        direction=direction,
    )
    return FaceDecision(decide(point, presented, device_id=device_id), match, quality)


@csrf_exempt
@require_POST
@refusing
def face_view(request: HttpRequest) -> HttpResponse:
    """Decide a face presented at a door terminal."""
    length = request.META.get("CONTENT_LENGTH") or ""
    if not length.isdigit():
        raise DeviceRefused(411, "length_required", _("请求须给出内容长度。"))
    if int(length) > images.MAX_BYTES:
        raise DeviceRefused(
            413, "too_large", _("图片过大。"), {"bytes": int(length), "max_bytes": images.MAX_BYTES}
        )
    body = request.read(int(length))
    device = terminal_of(request, body)
    direction = request.GET.get("direction", "")
    if direction not in ("", "in", "out"):
        raise DeviceRefused(
            400, "validation_error", _("请求格式错误。"), {"direction": [direction[:10]]}
        )
    point = point_of(device, request.GET.get("point", ""))
    try:
        decided = decide_face(point, body, device_id=device.pk, direction=direction)
    except BiometricRefused as refused:
        raise DeviceRefused(422, refused.code, str(refused.message), refused.details) from None
    answer = decided.decision.as_dict()
    answer["distance"] = (
        None if decided.match.distance is None else round(decided.match.distance, 4)
    )
    return JsonResponse(answer, json_dumps_params={"ensure_ascii": False})

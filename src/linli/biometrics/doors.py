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

import numpy as np
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from linli.access.choices import CredentialKind, Modality
from linli.access.decisions import Decision, Presented, decide
from linli.access.http import point_of, terminal_of
from linli.access.models import AccessPoint
from linli.biometrics import face, images, liveness
from linli.biometrics.engines import BiometricRefused, Vector
from linli.biometrics.gallery import galleries
from linli.biometrics.search import Match, search
from linli.core import errors
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
    return search_face(community_id, engine.embed(decoded.pixels, found)), quality


def search_face(community_id: int, probe: Vector) -> Match:
    """Search the community's face gallery for an embedding (open set)."""
    engine = face.engine()
    gallery = galleries.current(community_id, Modality.FACE, engine.name, engine.metric)
    return search(gallery, probe, threshold=face.DOOR_THRESHOLD, margin=face.DOOR_MARGIN)


def verify_voice(community_id: int, person_id: int, data: bytes) -> Match:
    """Check a recording against the claimed person's voiceprint (1:1); "unknown" when it
    is not within the voice threshold, or the person has no voiceprint."""
    from linli.biometrics import templates

    engine = templates.voice_engine()  # refuses where the voice extra is not installed
    from linli.biometrics import voice

    gallery = galleries.current(community_id, Modality.VOICE, engine.name, engine.metric)
    mine = np.flatnonzero(gallery.persons == person_id)
    if not mine.size:
        return Match(None, None, None, None)
    checked = voice.verify(gallery.matrix[mine[0]], data, voice=engine)
    if not checked.accepted:
        return Match(None, None, checked.distance, None)
    return Match(person_id, int(gallery.credentials[mine[0]]), checked.distance, None)


def _decided(
    point: AccessPoint, match: Match, *, method: str, device_id: int | None, direction: str
) -> Decision:
    score = None if match.distance is None else round(max(0.0, 1.0 - match.distance), 4)
    presented = Presented(
        method=method, credential_id=match.credential_id, score=score, direction=direction
    )
    return decide(point, presented, device_id=device_id)


def decide_face(
    point: AccessPoint, data: bytes, *, device_id: int | None = None, direction: str = ""
) -> FaceDecision:
    """Identify the face in ``data`` and decide the attempt at ``point`` (logged)."""
    match, quality = identify(point.community_id, data)
    decision = _decided(
        point, match, method=CredentialKind.FACE, device_id=device_id, direction=direction
    )
    return FaceDecision(decision, match, quality)


def _body(request: HttpRequest, limit: int) -> bytes:
    length = request.META.get("CONTENT_LENGTH") or ""
    if not length.isdigit():
        raise DeviceRefused(411, "length_required", _("请求须给出内容长度。"))
    if int(length) > limit:
        raise DeviceRefused(
            413, "too_large", _("请求体过大。"), {"bytes": int(length), "max_bytes": limit}
        )
    return request.read(int(length))


def _direction(request: HttpRequest) -> str:
    direction = request.GET.get("direction", "")
    if direction not in ("", "in", "out"):
        raise DeviceRefused(
            400, "validation_error", _("请求格式错误。"), {"direction": [direction[:10]]}
        )
    return direction


def _answer(decision: Decision, match: Match) -> JsonResponse:
    answer = decision.as_dict()
    answer["distance"] = None if match.distance is None else round(match.distance, 4)
    return JsonResponse(answer, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
@require_POST
@refusing
def face_view(request: HttpRequest) -> HttpResponse:
    """Decide a face presented at a door terminal."""
    body = _body(request, images.MAX_BYTES)
    device = terminal_of(request, body)
    direction = _direction(request)
    point = point_of(device, request.GET.get("point", ""))
    try:
        decided = decide_face(point, body, device_id=device.pk, direction=direction)
    except BiometricRefused as refused:
        raise DeviceRefused(422, refused.code, str(refused.message), refused.details) from None
    return _answer(decided.decision, decided.match)


@csrf_exempt
@require_POST
@refusing
def challenge_view(request: HttpRequest) -> HttpResponse:
    """A liveness challenge for a terminal to show (head turns, in order)."""
    terminal_of(request, b"")  # no body: a token, or a signature over nothing
    return JsonResponse(liveness.issue().as_dict())


@csrf_exempt
@require_POST
@refusing
def face_live_view(request: HttpRequest) -> HttpResponse:
    """Decide a face with liveness: multipart ``frames`` (3–20 JPEG or PNG frames, the
    person following the challenge given as ``challenge``); a sequence that fails the
    challenge is answered 422 ``not_live`` with what was measured, and is not an access
    attempt; one that passes is decided on its frontal frame."""
    device = terminal_of(request, b"")  # multipart bodies authenticate by token
    direction = _direction(request)
    point = point_of(device, request.GET.get("point", ""))
    frames = request.FILES.getlist("frames")
    if any((f.size or 0) > images.MAX_BYTES for f in frames):
        raise DeviceRefused(413, "too_large", _("图片过大。"), {"max_bytes": images.MAX_BYTES})
    try:
        challenge = liveness.read(request.POST.get("challenge", ""))
        result = liveness.check([f.read() for f in frames], challenge.steps)
        liveness.use(challenge)
    except BiometricRefused as refused:
        raise DeviceRefused(422, refused.code, str(refused.message), refused.details) from None
    if not result.passed or result.frontal is None:
        raise DeviceRefused(422, "not_live", _("未通过活体检测。"), result.as_dict())
    match = search_face(point.community_id, result.frontal)
    decision = _decided(
        point, match, method=CredentialKind.FACE, device_id=device.pk, direction=direction
    )
    return _answer(decision, match)


@csrf_exempt
@require_POST
@refusing
def voice_view(request: HttpRequest) -> HttpResponse:
    """Decide a voice at a voice terminal: the body is the recording (WAV, FLAC or OGG) of
    the person reading the terminal's prompt; ``person`` names who they claim to be (as
    the terminal learnt it: a room's call button, a card). Accepted when the recording is
    within the voice threshold of that person's voiceprint."""
    body = _body(request, 10 * 1024 * 1024)
    device = terminal_of(request, body)
    direction = _direction(request)
    point = point_of(device, request.GET.get("point", ""))
    claimed = request.GET.get("person", "")
    if not claimed.isdigit():
        raise DeviceRefused(
            400, "validation_error", _("请求格式错误。"), {"person": [claimed[:20]]}
        )
    try:
        match = verify_voice(point.community_id, int(claimed), body)
    except BiometricRefused as refused:
        raise DeviceRefused(422, refused.code, str(refused.message), refused.details) from None
    except errors.LinliError as missing:  # the voice extra is not installed
        raise DeviceRefused(501, missing.code, str(missing.message)) from None
    decision = _decided(
        point, match, method=CredentialKind.VOICE, device_id=device.pk, direction=direction
    )
    return _answer(decision, match)

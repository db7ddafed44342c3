"""Liveness by an active challenge: turn the head as asked, across a short frame sequence.

The platform issues a **challenge** (:func:`issue`): one or two head turns in a random
order ("left", "right": the person's own left and right), valid for
:data:`CHALLENGE_SECONDS`, signed so any process can check it and usable once. The
terminal or the resident app's camera sends 3–:data:`MAX_FRAMES` frames as the camera
sees them (not mirrored) while the person follows it; :func:`check` passes the sequence
when

- every frame has one usable face (the door's checks, without the frontal-pose one);
- no two frames are the same picture (a still photo sent several times);
- the head starts frontal and turns in the asked directions, in the asked order, by at
  least :data:`TURN_YAW` (nose offset from the eyes' midpoint, in eye distances);
- the turned faces are the same person as the frontal one (embedding distance within
  :data:`SAME_PERSON`).

The pose comes from dlib's 5 landmarks (eye corners and nose), which can see a head turn
but not a blink (the 68-point model that could is not licensed for commercial use).
What it stops: a still photo or a single frame sent several times, a photo held still,
frames of two different people. What it does not stop: a printed photo *tilted* in front
of the camera as the challenge asks. Measured (docs/biometrics.md): a flat photo turned
30–45° about its vertical axis reached a yaw of up to 0.22, past :data:`TURN_YAW`, and
the foreshortening of the eye distance that a flat print shows overlapped with real head
turns in the shared ORL photos, so it is not used as a cue. Nor does it stop a replayed
video. Those need depth or a trained presentation-attack model, which this platform does
not ship; a door that must resist them needs a terminal that does its own liveness.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time

import numpy as np
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from linli.biometrics import face, images
from linli.biometrics.engines import BiometricRefused, Vector
from linli.biometrics.models import ChallengeUse
from linli.core import crypto

CHALLENGE_SECONDS = 60
MAX_FRAMES = 20
MIN_FRAMES = 3
# Measured on the shared ORL photos (30 people, 10 photos each, some turned): frontal
# photos |yaw| ≤ 0.05; the turned ones 0.12–0.28.
FRONTAL_YAW = 0.08
TURN_YAW = 0.12
SAME_PERSON = 0.6  # photo-against-photo genuine pairs of the shared sets: p99 0.57
DIRECTIONS = ("left", "right")
PURPOSE = "biometrics.liveness"
# The frames' checks: a door's, except that the head is meant to turn.
FRAME_LIMITS = dataclasses.replace(face.DOOR, max_yaw=10.0)


@dataclasses.dataclass(frozen=True)
class Challenge:
    """What to ask of the person, and its signed token."""

    steps: tuple[str, ...]
    expires_at: float
    nonce: str
    token: str

    def as_dict(self) -> dict[str, object]:
        return {"steps": list(self.steps), "expires_at": int(self.expires_at), "token": self.token}


@dataclasses.dataclass(frozen=True)
class Result:
    """The outcome: passed or not, why not, and what was measured."""

    passed: bool
    reason: str
    yaws: tuple[float, ...]
    distances: tuple[float, ...]
    frontal: Vector | None = None  # the embedding of the most frontal frame, when passed

    def as_dict(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "reason": self.reason,
            "yaws": [round(y, 3) for y in self.yaws],
            "distances": [round(d, 3) for d in self.distances],
        }


def _sign(payload: bytes) -> str:
    return hmac.new(crypto.purpose_key(PURPOSE), payload, hashlib.sha256).hexdigest()[:32]


def issue(steps: int = 2, *, now: float | None = None) -> Challenge:
    """A new challenge of ``steps`` head turns (1 or 2) in a random order."""
    rng = secrets.SystemRandom()
    asked = tuple(rng.sample(DIRECTIONS, k=2)) if steps == 2 else (rng.choice(DIRECTIONS),)
    expires = (now or time.time()) + CHALLENGE_SECONDS
    nonce = secrets.token_urlsafe(12)
    body = json.dumps({"s": asked, "e": int(expires), "n": nonce}, separators=(",", ":"))
    encoded = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
    return Challenge(asked, float(int(expires)), nonce, f"{encoded}.{_sign(body.encode())}")


def read(token: str, *, now: float | None = None) -> Challenge:
    """The challenge a token carries, or a refusal: forged, expired."""
    encoded, _dot, signature = token.partition(".")
    try:
        body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        data = json.loads(body)
        steps = tuple(str(s) for s in data["s"])
        expires, nonce = float(data["e"]), str(data["n"])
    except (ValueError, KeyError, TypeError):
        raise BiometricRefused("bad_challenge", _("活体检测挑战无效。")) from None
    if not hmac.compare_digest(_sign(body), signature) or not set(steps) <= set(DIRECTIONS):
        raise BiometricRefused("bad_challenge", _("活体检测挑战无效。"))
    if (now or time.time()) > expires:
        raise BiometricRefused("challenge_expired", _("活体检测已超时，请重试。"))
    return Challenge(steps, expires, nonce, token)


def use(challenge: Challenge) -> None:
    """Spend the challenge (each is answered once), or refuse a second answer."""
    expires = dt.datetime.fromtimestamp(challenge.expires_at, tz=dt.UTC)
    try:
        with transaction.atomic():
            ChallengeUse.objects.create(nonce=challenge.nonce, expires_at=expires)
    except IntegrityError:
        raise BiometricRefused("challenge_used", _("该活体检测挑战已使用。")) from None


def check(frames: list[bytes], steps: tuple[str, ...]) -> Result:
    """Judge a frame sequence against the asked head turns (see the module doc)."""
    if not MIN_FRAMES <= len(frames) <= MAX_FRAMES:
        raise BiometricRefused(
            "frame_count",
            _("请提供%(min)d–%(max)d帧画面。") % {"min": MIN_FRAMES, "max": MAX_FRAMES},
            {"frames": len(frames), "min": MIN_FRAMES, "max": MAX_FRAMES},
        )
    engine = face.engine()
    seen: set[bytes] = set()
    pixels = []
    found = []
    for index, data in enumerate(frames):
        try:
            decoded = images.decode(data)
            chosen, _quality = face.assess(
                decoded.pixels, engine.detect(decoded.pixels), FRAME_LIMITS
            )
        except BiometricRefused as refused:
            refused.details = {**refused.details, "frame": index}
            raise
        digest = hashlib.sha256(decoded.pixels.tobytes()).digest()
        if digest in seen:
            return Result(False, "still_image", (), ())
        seen.add(digest)
        pixels.append(decoded.pixels)
        found.append(chosen)
    yaws = tuple(face.yaw(f.landmarks) for f in found)
    frontal = next((i for i, yaw in enumerate(yaws) if abs(yaw) <= FRONTAL_YAW), None)
    if frontal is None:
        return Result(False, "no_frontal_frame", yaws, ())
    turned = _follow(yaws, steps, start=frontal)
    if turned is None:
        return Result(False, "challenge_not_followed", yaws, ())
    reference = engine.embed(pixels[frontal], found[frontal])
    apart = tuple(
        float(np.linalg.norm(reference - engine.embed(pixels[i], found[i]))) for i in turned
    )
    if max(apart) > SAME_PERSON:
        return Result(False, "different_person", yaws, apart)
    return Result(True, "live", yaws, apart, reference)


def _follow(yaws: tuple[float, ...], steps: tuple[str, ...], start: int) -> list[int] | None:
    """The frames that show each asked turn in order, starting from the frontal frame, or
    ``None``. A turn to the person's left moves the nose to the right of the picture
    (positive yaw in an unmirrored frame)."""
    position = start
    chosen = []
    for step in steps:
        sign = 1.0 if step == "left" else -1.0
        hit = next((i for i in range(position + 1, len(yaws)) if sign * yaws[i] >= TURN_YAW), None)
        if hit is None:
            return None
        chosen.append(hit)
        position = hit
    return chosen

"""REST API of biometrics: enrol a face, a person's biometric status, delete a template.

No endpoint returns a template or an embedding; the status says only whether one exists,
when it was made, from how many samples and how good they were.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from linli.access import queries
from linli.access.choices import Modality
from linli.api.base import ERRORS, actor
from linli.biometrics import identity, images, liveness, selectors, templates
from linli.biometrics.engines import BiometricRefused

router = Router(tags=["biometrics"])


class TemplateOut(Schema):
    """That a template exists, and how it was made (never the template)."""

    modality: str
    credential_id: int
    engine: str
    samples: int
    quality: dict[str, object]
    created_at: dt.datetime


class BiometricStatusOut(Schema):
    """A person's biometric status in a community."""

    person_id: int
    community_id: int
    face: TemplateOut | None
    voice: TemplateOut | None
    face_consent: bool
    voice_consent: bool


def _status(person_id: int, community_id: int) -> dict[str, object]:
    return selectors.held(person_id, community_id).status(person_id, community_id)


@router.get("/people/{person_id}/biometrics", response={200: BiometricStatusOut, **ERRORS})
def biometric_status(request: HttpRequest, person_id: int, community_id: int) -> object:
    """Whether a person has face and voice templates and consents (no templates)."""
    person = queries.get_member(actor(request), person_id, community_id, "credential.view")
    return _status(person.pk, community_id)


@router.post("/people/{person_id}/face", response={201: BiometricStatusOut, **ERRORS})
def enrol_face(
    request: HttpRequest,
    person_id: int,
    community_id: int,
    photos: list[UploadedFile] = File(...),  # noqa: B008  (ninja's way to declare files)
) -> tuple[int, object]:
    """Enrol a face from 1–5 photos (multipart field ``photos``); each is checked for
    quality and the answer names the first problem. The photos are not kept."""
    a = actor(request)
    person = queries.get_member(a, person_id, community_id, "credential.view")
    data: list[bytes] = []
    for index, upload in enumerate(photos):
        if (upload.size or 0) > images.MAX_BYTES:
            raise BiometricRefused(
                "too_large",
                _("图片过大。"),
                {"photo": index, "bytes": upload.size, "max_bytes": images.MAX_BYTES},
            )
        data.append(upload.read())
    templates.do_enrol_face(a, person, community_id, data)
    return 201, _status(person.pk, community_id)


@router.delete("/people/{person_id}/face", response={204: None, **ERRORS})
def delete_face(request: HttpRequest, person_id: int, community_id: int) -> tuple[int, None]:
    """Delete a person's face template (its credential is revoked with it)."""
    a = actor(request)
    person = queries.get_member(a, person_id, community_id, "credential.view")
    a.require("credential.manage", community_id)
    templates.forget(community_id, [person.pk], Modality.FACE, "deleted", actor=a)
    return 204, None


# Liveness challenges and 实人认证 ------------------------------------------------------


class ChallengeOut(Schema):
    """Head turns to ask for, in order, and the token to send back with the frames."""

    steps: list[str]
    expires_at: int
    token: str


@router.post("/biometrics/challenges", response={201: ChallengeOut, **ERRORS})
def new_challenge(request: HttpRequest) -> tuple[int, object]:
    """A liveness challenge for a camera capture (the resident app, the front desk)."""
    actor(request)  # signed in
    return 201, liveness.issue().as_dict()


class IdentityCheckOut(Schema):
    """A real-person authentication's result (the ID number masked)."""

    id: int
    community_id: int
    person_id: int | None
    name: str
    id_number_masked: str
    provider: str
    reference: str
    passed: bool
    reason: str
    distance: float | None
    liveness: dict[str, object]
    checked_at: dt.datetime
    expires_at: dt.datetime | None


@router.post("/identity-checks", response={201: IdentityCheckOut, **ERRORS})
def check_identity(
    request: HttpRequest,
    community_id: int = Form(...),
    name: str = Form(...),
    id_number: str = Form(...),
    challenge: str = Form(...),
    frames: list[UploadedFile] = File(...),  # noqa: B008
    reference: UploadedFile | None = File(None),  # noqa: B008
) -> tuple[int, object]:
    """实人认证: name + ID number + a reference portrait (optional: else the enrolled face)
    + live frames following the challenge → a recorded result with its reason."""
    a = actor(request)
    uploads = [*frames, *([reference] if reference is not None else [])]
    for index, upload in enumerate(uploads):
        if (upload.size or 0) > images.MAX_BYTES:
            raise BiometricRefused(
                "too_large", _("图片过大。"), {"file": index, "max_bytes": images.MAX_BYTES}
            )
    attempt = identity.Attempt(
        community_id=community_id,
        name=name,
        id_number=id_number,
        challenge=challenge,
        frames=[f.read() for f in frames],
        reference_photo=reference.read() if reference is not None else None,
    )
    return 201, identity.do_check_identity(a, attempt)


# Voiceprints ---------------------------------------------------------------------------


@router.post("/people/{person_id}/voice", response={201: BiometricStatusOut, **ERRORS})
def enrol_voice(
    request: HttpRequest,
    person_id: int,
    community_id: int,
    utterances: list[UploadedFile] = File(...),  # noqa: B008
) -> tuple[int, object]:
    """Enrol a voiceprint from 3–10 recordings (multipart field ``utterances``)."""
    a = actor(request)
    person = queries.get_member(a, person_id, community_id, "credential.view")
    data = [u.read() for u in utterances]
    templates.do_enrol_voice(a, person, community_id, data)
    return 201, _status(person.pk, community_id)

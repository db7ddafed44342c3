"""实人认证 (real-person authentication): is the person in front of the camera the holder of
this name and ID number?

The steps, each a recorded reason when it fails:

1. the ID number is a valid resident ID (GB 11643 checksum and birth date);
2. where the person is on the community's register under that ID number, the name must
   match the register;
3. a reference portrait: a photo sent with the request (the ID card's photo, or one
   taken at the front desk), else the person's enrolled face template;
4. a live capture that passes the head-turn challenge (:mod:`.liveness`);
5. the provider compares the live face with the reference (:class:`IdentityProvider`):
   the default, :class:`LocalProvider`, uses the face engine and a measured threshold. A
   national identity-authentication service or a cloud vendor plugs in by the
   ``LINLI_IDENTITY_PROVIDER`` setting (a dotted path), and receives the same inputs.

Every attempt, passed or not, is stored as an :class:`IdentityCheck` (the ID number
sealed) and audited as a sensitive action. A pass is valid for :data:`VALID_FOR`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Protocol

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from linli.biometrics import face, images, liveness, templates
from linli.biometrics.engines import BiometricRefused, Vector
from linli.biometrics.models import IdentityCheck, Template
from linli.core import audit, errors
from linli.core.tenancy import Actor
from linli.people.choices import IdType
from linli.people.identity import parse_resident_id, seal_id
from linli.people.models import Person

VALID_FOR = dt.timedelta(hours=24)
# Photo against photo (the reference is one photo, the live capture another): FAR 1 in
# 10,000 of the shared sets' impostor pairs at 0.506 (FRR 7.8 %); 0.50 is as strict.
MATCH_THRESHOLD = 0.50


@dataclasses.dataclass(frozen=True)
class ProviderAnswer:
    """A provider's verdict: same person or not, and the distance it measured (if any)."""

    same_person: bool
    distance: float | None
    reason: str


class IdentityProvider(Protocol):
    """Compares a live face with the reference for a name and ID number."""

    name: str

    def compare(
        self, *, name: str, id_number: str, reference: Vector, live: Vector
    ) -> ProviderAnswer: ...


class LocalProvider:
    """The platform's own face comparison (no outside service)."""

    name = "local"

    def compare(
        self, *, name: str, id_number: str, reference: Vector, live: Vector
    ) -> ProviderAnswer:
        distance = float(np.linalg.norm(reference - live))
        same = distance <= MATCH_THRESHOLD
        return ProviderAnswer(same, distance, "matched" if same else "face_mismatch")


def provider() -> IdentityProvider:
    """The configured provider (``LINLI_IDENTITY_PROVIDER``), by default the local one."""
    path = getattr(settings, "LINLI_IDENTITY_PROVIDER", "")
    return import_string(path)() if path else LocalProvider()


@dataclasses.dataclass(frozen=True)
class Attempt:
    """What a caller asks to check."""

    community_id: int
    name: str
    id_number: str
    challenge: str
    frames: list[bytes]
    reference_photo: bytes | None = None


def do_check_identity(actor: Actor, attempt: Attempt) -> IdentityCheck:
    """Run one real-person authentication and record it (see the module doc).

    Input a check cannot start from (a malformed ID number, a spent or forged challenge,
    an unusable frame or reference photo) is refused with its code and nothing recorded;
    everything after that is a recorded attempt with its reason.
    """
    actor.require("identity.check", attempt.community_id)
    number = parse_resident_id(attempt.id_number).number
    name = attempt.name.strip()
    if not name:
        raise errors.ValidationFailed(details={"name": ["required"]}, code="name_required")
    challenge = liveness.read(attempt.challenge)
    sealed, lookup, masked = seal_id(IdType.RESIDENT_ID, number)
    person = Person.objects.filter(
        memberships__community_id=attempt.community_id,
        id_type=IdType.RESIDENT_ID,
        id_number_hash=lookup,
    ).first()
    reference, source = _reference(attempt, person)
    live = liveness.check(attempt.frames, challenge.steps)  # refuses unusable frames
    liveness.use(challenge)
    chosen = provider()
    reason, distance, passed = "", None, False
    if person is not None and person.name.strip() != name:
        reason = "name_mismatch"
    elif reference is None:
        reason = "no_reference"
    elif not live.passed or live.frontal is None:
        reason = f"not_live:{live.reason}"
    else:
        answer = chosen.compare(name=name, id_number=number, reference=reference, live=live.frontal)
        reason, distance, passed = answer.reason, answer.distance, answer.same_person
    now = timezone.now()
    with transaction.atomic():
        check = IdentityCheck.objects.create(
            community_id=attempt.community_id,
            person=person,
            name=name,
            id_number_sealed=sealed,
            id_number_hash=lookup,
            id_number_masked=masked,
            provider=chosen.name,
            reference=source,
            passed=passed,
            reason=reason,
            liveness=live.as_dict(),
            distance=distance,
            checked_by=actor.label,
            expires_at=now + VALID_FOR if passed else None,
        )
        audit.record(
            actor,
            "biometrics.identity.check",
            check,
            community_id=attempt.community_id,
            sensitive=True,
            changes={"passed": [None, passed], "reason": [None, reason]},
        )
    return check


def _reference(attempt: Attempt, person: Person | None) -> tuple[Vector | None, str]:
    """The reference face: the photo sent, else the person's enrolled template."""
    engine = face.engine()
    if attempt.reference_photo is not None:
        decoded = images.decode(attempt.reference_photo)
        try:
            found, _quality = face.assess(decoded.pixels, engine.detect(decoded.pixels), face.DOOR)
        except BiometricRefused as refused:
            refused.details = {**refused.details, "photo": "reference"}
            raise
        return engine.embed(decoded.pixels, found), "photo"
    if person is not None:
        template = Template.objects.filter(
            community_id=attempt.community_id, person=person, modality="face"
        ).first()
        if template is not None and template.engine == engine.name:
            return templates.open_vector(template.embedding_sealed, template.dimension), "template"
    return None, "none"

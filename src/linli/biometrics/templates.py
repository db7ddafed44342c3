"""The only writers of biometric templates: enrolment, replacement and deletion.

A template exists only with the person's active consent for its modality, next to an
active face or voice credential (:mod:`linli.access.actions` owns credentials and
consent). Withdrawing the consent, revoking the credential or moving out deletes the
template in the same transaction and raises the community's gallery version, so every
process drops it from its gallery before its next search (:mod:`.gallery`).

The photo or recording an enrolment came from is not kept, unless the community's
retention policy keeps the enrolment photo (sealed) for a number of days.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.access import queries
from linli.access.actions import check_person, do_issue_credential
from linli.access.choices import CredentialKind, CredentialStatus, Modality
from linli.access.models import Consent, Credential
from linli.biometrics import face as faces
from linli.biometrics import images
from linli.biometrics.engines import BiometricRefused, Vector
from linli.biometrics.models import GalleryVersion, Template
from linli.core import audit, crypto, errors
from linli.core.tenancy import Actor
from linli.people.models import Person
from linli.places.models import Community

PURPOSE = "biometrics.template"
PHOTO_PURPOSE = "biometrics.photo"
MAX_PHOTOS = 5
# Enrolment photos of one person must agree: two further apart than this are refused
# (the genuine pairs of the shared test photos: p99 0.57, at most 0.62).
FACE_CONSISTENCY = 0.62


def seal_vector(vector: Vector) -> str:
    """Seal an embedding (little-endian float32) with the core field encryption."""
    return crypto.seal(np.asarray(vector, dtype="<f4").tobytes(), PURPOSE)


def open_vector(sealed: str, dimension: int) -> Vector:
    """Open a sealed embedding."""
    raw = crypto.keyring().open_bytes(sealed, PURPOSE)
    vector = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    if vector.size != dimension:
        raise crypto.CryptoError(f"template has {vector.size} numbers, not {dimension}")
    return vector


def bump(community_id: int, modality: str) -> None:
    """Raise the community's gallery version (inside the caller's transaction)."""
    updated = GalleryVersion.objects.filter(community_id=community_id, modality=modality).update(
        number=F("number") + 1
    )
    if not updated:
        _version, created = GalleryVersion.objects.get_or_create(
            community_id=community_id, modality=modality, defaults={"number": 1}
        )
        if not created:
            GalleryVersion.objects.filter(community_id=community_id, modality=modality).update(
                number=F("number") + 1
            )


def face_embedding(photos: Sequence[bytes]) -> tuple[Vector, list[dict[str, float]]]:
    """The enrolment embedding of one to :data:`MAX_PHOTOS` photos of one person (each
    checked for quality; their mean when several), and each photo's quality."""
    if not photos:
        raise BiometricRefused("no_photo", _("请上传至少一张照片。"))
    if len(photos) > MAX_PHOTOS:
        raise BiometricRefused(
            "too_many_photos", _("照片过多。"), {"photos": len(photos), "max": MAX_PHOTOS}
        )
    engine = faces.engine()
    vectors: list[Vector] = []
    qualities: list[dict[str, float]] = []
    for index, data in enumerate(photos):
        try:
            decoded = images.decode(data)
            face, quality = faces.assess(
                decoded.pixels, engine.detect(decoded.pixels), faces.ENROLMENT
            )
        except BiometricRefused as refused:
            refused.details = {**refused.details, "photo": index}
            raise
        vectors.append(engine.embed(decoded.pixels, face))
        qualities.append(quality.as_dict())
    for a, b in itertools.combinations(range(len(vectors)), 2):
        apart = float(np.linalg.norm(vectors[a] - vectors[b]))
        if apart > FACE_CONSISTENCY:
            raise BiometricRefused(
                "inconsistent_photos",
                _("这几张照片不像同一个人。"),
                {"photos": [a, b], "distance": round(apart, 3)},
            )
    return np.mean(np.stack(vectors), axis=0).astype(np.float32), qualities


def do_enrol_face(
    actor: Actor, person: Person, community_id: int, photos: Sequence[bytes]
) -> Template:
    """Enrol (or re-enrol) a person's face from photos; the person's consent must be on
    record. Nothing is stored when any photo is refused."""
    check_person(actor, person, community_id, "credential.manage")
    consent = _active_consent(person.pk, community_id, Modality.FACE)
    vector, qualities = face_embedding(photos)
    engine = faces.engine()
    return _store(
        actor,
        person,
        community_id,
        consent,
        Modality.FACE,
        engine.name,
        vector,
        {"photos": qualities},
        len(photos),
        photo=photos[0],
    )


def store_face(
    actor: Actor,
    person: Person,
    community_id: int,
    vector: Vector,
    quality: dict[str, object],
    samples: int,
    *,
    photo: bytes | None = None,
) -> Template:
    """Store a face embedding made by :func:`face_embedding` (perhaps in another process:
    batch enrolment); the consent is checked here, at the time of storing. ``photo`` is the
    enrolment photo, kept only where the community's retention policy says so."""
    check_person(actor, person, community_id, "credential.manage")
    consent = _active_consent(person.pk, community_id, Modality.FACE)
    return _store(
        actor,
        person,
        community_id,
        consent,
        Modality.FACE,
        faces.engine().name,
        vector,
        quality,
        samples,
        photo=photo,
    )


def do_enrol_voice(
    actor: Actor, person: Person, community_id: int, utterances: Sequence[bytes]
) -> Template:
    """Enrol (or re-enrol) a person's voiceprint from 3–10 recordings (the voice extra
    must be installed); the consent is checked before any audio is processed."""
    check_person(actor, person, community_id, "credential.manage")
    _active_consent(person.pk, community_id, Modality.VOICE)
    engine = voice_engine()
    from linli.biometrics import voice

    vector = voice.enrol(list(utterances), voice=engine)
    return store_voice(actor, person, community_id, engine.name, vector, {}, len(utterances))


def voice_engine() -> Any:
    """The voice engine, or a clear refusal where the voice extra is not installed."""
    try:
        from linli.biometrics import voice
    except ImportError:
        raise errors.LinliError(_("本系统未安装声纹识别组件。"), code="voice_unavailable") from None
    return voice.engine()


def store_voice(
    actor: Actor,
    person: Person,
    community_id: int,
    engine_name: str,
    vector: Vector,
    quality: dict[str, object],
    samples: int,
) -> Template:
    """Store a voice template made by the voice engine (consent checked here)."""
    check_person(actor, person, community_id, "credential.manage")
    consent = _active_consent(person.pk, community_id, Modality.VOICE)
    return _store(
        actor, person, community_id, consent, Modality.VOICE, engine_name, vector, quality, samples
    )


def _active_consent(person_id: int, community_id: int, modality: str) -> Consent:
    consent = queries.active_consent(person_id, community_id, modality)
    if consent is None:
        raise errors.Conflict(_("本人尚未同意采集该生物特征。"), code="no_consent")
    return consent


def _store(
    actor: Actor,
    person: Person,
    community_id: int,
    consent: Consent,
    modality: str,
    engine_name: str,
    vector: Vector,
    quality: dict[str, object],
    samples: int,
    *,
    photo: bytes | None = None,
) -> Template:
    kind = CredentialKind.FACE if modality == Modality.FACE else CredentialKind.VOICE
    keep_days = (
        Community.objects.filter(pk=community_id)
        .values_list("face_photo_retention_days", flat=True)
        .first()
        or 0
    )
    kept = photo is not None and keep_days > 0
    with transaction.atomic():
        replaced = _delete(community_id, [person.pk], modality, reason="replaced")
        credential, _shown = do_issue_credential(actor, person, community_id, kind=kind)
        template = Template.objects.create(
            community_id=community_id,
            person=person,
            modality=modality,
            credential=credential,
            consent=consent,
            engine=engine_name,
            dimension=int(vector.size),
            embedding_sealed=seal_vector(vector),
            quality=quality,
            samples=samples,
            photo_sealed=crypto.seal(photo, PHOTO_PURPOSE) if kept and photo else "",
            photo_until=timezone.now() + dt.timedelta(days=keep_days) if kept else None,
        )
        bump(community_id, modality)
        audit.record(
            actor,
            "biometrics.template.enrol",
            template,
            community_id=community_id,
            changes={"modality": [None, modality], "replaced": [0, replaced]},
        )
    return template


def _delete(community_id: int, people: Iterable[int], modality: str | None, reason: str) -> int:
    """Delete templates (and revoke their credentials) inside the caller's transaction."""
    found = Template.objects.filter(community_id=community_id, person_id__in=list(people))
    if modality:
        found = found.filter(modality=modality)
    rows = list(found.values_list("pk", "credential_id", "modality"))
    if not rows:
        return 0
    Credential.objects.filter(pk__in=[r[1] for r in rows]).exclude(
        status=CredentialStatus.REVOKED
    ).update(status=CredentialStatus.REVOKED, status_reason=reason)
    Template.objects.filter(pk__in=[r[0] for r in rows]).delete()
    for kind in {r[2] for r in rows}:
        bump(community_id, kind)
    return len(rows)


def forget(
    community_id: int,
    people: Iterable[int],
    modality: str | None,
    reason: str,
    *,
    actor: Actor | None = None,
) -> int:
    """Delete these people's templates (of one modality, or all) and say how many; used
    when a consent is withdrawn, a credential revoked, a person moves out, or on request."""
    with transaction.atomic():
        count = _delete(community_id, people, modality, reason)
        if count:
            audit.record(
                actor or Actor.system("biometrics"),
                "biometrics.template.delete",
                community_id=community_id,
                object_type="biometrics.template",
                changes={"deleted": [None, count], "reason": [None, reason]},
            )
    return count

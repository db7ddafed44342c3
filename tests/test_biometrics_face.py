"""Faces: photo checks, enrolment with consent, the gallery, and face doors, on real photos."""

from __future__ import annotations

import datetime as dt
import io
import time
from typing import Any

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from linli.access import actions
from linli.access.choices import CredentialKind, CredentialStatus, Modality
from linli.access.models import AccessEvent, Credential
from linli.biometrics import face, images, metrics, selectors, templates
from linli.biometrics.engines import BiometricRefused, Face
from linli.biometrics.gallery import galleries
from linli.biometrics.models import GalleryVersion, Template
from linli.biometrics.search import Gallery, search
from linli.core import errors
from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.people.actions import do_end_residency
from linli.people.models import Residency
from tests import biometric_photos as photos
from tests.access_estate import gate_with_terminal
from tests.conftest import World


def refusal(data: bytes, limits: face.Limits = face.ENROLMENT) -> str:
    try:
        decoded = images.decode(data)
        face.assess(decoded.pixels, face.engine().detect(decoded.pixels), limits)
    except BiometricRefused as refused:
        return refused.code
    raise AssertionError("the photo was accepted")


# Photos a camera or an upload may send ---------------------------------------------------


@pytest.mark.db_independent
@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: b"", "not_an_image"),
        (lambda: b"this is not a photo" * 100, "not_an_image"),
        (lambda: b"\x00" * (30 * 1024 * 1024), "too_large"),
        (lambda: photos.jpeg(photos.astronaut())[:20_000], "truncated_image"),
        (lambda: photos.jpeg(photos.coffee()), "no_face"),
        (lambda: photos.jpeg(photos.cat()), "no_face"),
        (lambda: photos.jpeg(Image.new("RGB", (640, 480))), "no_face"),
        (
            lambda: photos.jpeg(
                photos.side_by_side(photos.hopper(), photos.mirrored(photos.hopper()))
            ),
            "several_faces",
        ),
        (lambda: photos.jpeg(photos.blurred(photos.astronaut(), 2)), "too_blurred"),
        (lambda: photos.jpeg(photos.darkened(photos.astronaut())), "too_dark"),
        (lambda: photos.jpeg(photos.shrunk(photos.astronaut(), 200)), "face_too_small"),
    ],
    ids=[
        "empty",
        "text",
        "30MB",
        "truncated",
        "a-cup",
        "a-cat",
        "blank",
        "two-faces",
        "blurred",
        "dark",
        "small",
    ],
)
def test_a_photo_a_face_cannot_be_taken_from_is_refused_with_its_reason(
    make: Any, code: str
) -> None:
    assert refusal(make()) == code


@pytest.mark.db_independent
def test_a_decompression_bomb_is_refused_unread() -> None:
    huge = io.BytesIO()
    Image.new("1", (9000, 9000)).save(huge, format="PNG")  # 81 megapixels, a small file
    assert len(huge.getvalue()) < images.MAX_BYTES
    assert refusal(huge.getvalue()) == "too_large"


@pytest.mark.db_independent
def test_a_head_turned_away_is_refused() -> None:
    decoded = images.decode(photos.jpeg(photos.hopper()))
    found = face.engine().detect(decoded.pixels)[0]
    (a, b, c, d, nose) = found.landmarks
    eye_span = abs((a[0] + b[0]) / 2 - (c[0] + d[0]) / 2)
    turned = Face(found.box, found.confidence, (a, b, c, d, (nose[0] + 0.5 * eye_span, nose[1])))
    with pytest.raises(BiometricRefused) as caught:
        face.assess(decoded.pixels, [turned], face.ENROLMENT)
    assert caught.value.code == "looking_away"
    assert face.assess(decoded.pixels, [found], face.ENROLMENT)[1].yaw == pytest.approx(0, abs=0.1)


@pytest.mark.db_independent
def test_the_same_face_is_near_and_another_far() -> None:
    engine = face.engine()

    def embedding(image: Image.Image) -> np.ndarray:
        decoded = images.decode(photos.jpeg(image))
        found, _quality = face.assess(decoded.pixels, engine.detect(decoded.pixels), face.ENROLMENT)
        return engine.embed(decoded.pixels, found)

    astronaut = embedding(photos.astronaut())
    again = embedding(photos.noisy(photos.mirrored(photos.astronaut())))
    hopper = embedding(photos.hopper())
    assert astronaut.shape == (128,) and astronaut.dtype == np.float32
    assert np.linalg.norm(astronaut - again) < face.DOOR_THRESHOLD
    assert np.linalg.norm(astronaut - hopper) > face.DOOR_THRESHOLD + face.DOOR_MARGIN


# Open-set search -------------------------------------------------------------------------


@pytest.mark.db_independent
def test_the_search_answers_unknown_rather_than_the_nearest() -> None:
    rng = np.random.default_rng(7)
    rows = rng.normal(0, 0.2, (4, 128)).astype(np.float32)
    gallery = Gallery(
        1, "face", "e", "euclidean", 1, np.array([1, 1, 2, 3]), np.array([10, 11, 20, 30]), rows
    )
    near_one = rows[0] + 0.01
    assert search(gallery, near_one, threshold=0.5, margin=0.05).credential_id == 10
    far = rows[0] + 10
    missed = search(gallery, far, threshold=0.5, margin=0.05)
    assert not missed.known and missed.distance is not None and missed.distance > 0.5
    # Between two people, within the threshold of both: not sure, so unknown.
    between = (rows[2] + rows[3]) / 2
    halfway = float(np.linalg.norm(rows[2] - rows[3]) / 2)
    assert not search(gallery, between, threshold=halfway + 0.1, margin=0.05).known
    empty = Gallery(1, "face", "e", "euclidean", 0, np.zeros(0, np.int64), np.zeros(0, np.int64),
                    np.zeros((0, 128), np.float32))  # fmt: skip
    assert not search(empty, near_one, threshold=0.5, margin=0.05).known


@pytest.mark.db_independent
def test_error_rates_from_scores() -> None:
    genuine = np.array([0.1, 0.2, 0.3, 0.6])
    impostor = np.array([0.5, 0.7, 0.8, 0.9, 1.0])
    at = metrics.rates(genuine, impostor, 0.55)
    assert (at.far, at.frr) == (0.2, 0.25)
    strict = metrics.at_far(genuine, impostor, 0.0)
    assert strict.far == 0 and strict.threshold < 0.5 and strict.frr == 0.25
    assert 0 < metrics.eer(genuine, impostor) <= 0.25
    assert metrics.det_png({"x": (genuine, impostor)}).startswith(b"\x89PNG")


# Enrolment, consent, and the doors -------------------------------------------------------


@pytest.fixture
def estate(world: World, system: Actor, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    setup = gate_with_terminal(world, system, django_capture_on_commit_callbacks)
    galleries.forget()
    return setup


def consent(world: World, system: Actor, modality: str = Modality.FACE) -> Any:
    return actions.do_record_consent(
        system, world.person_a, world.a.pk, modality=modality, text_version="v1", channel="app"
    )


def at_door(client: Client, image: Image.Image, point: str = "gate") -> Any:
    return client.post(
        f"/device/v1/access/face?point={point}&direction=in",
        photos.jpeg(image),
        content_type="image/jpeg",
    )


def test_no_template_without_consent_and_nothing_stored_on_a_bad_photo(
    world: World, system: Actor, estate: dict[str, Any]
) -> None:
    with pytest.raises(errors.Conflict) as caught:
        templates.do_enrol_face(system, world.person_a, world.a.pk, [photos.jpeg(photos.hopper())])
    assert caught.value.code == "no_consent"
    consent(world, system)
    good, bad = photos.jpeg(photos.hopper()), photos.jpeg(photos.coffee())
    with pytest.raises(BiometricRefused) as refused:
        templates.do_enrol_face(system, world.person_a, world.a.pk, [good, bad])
    assert (refused.value.code, refused.value.details["photo"]) == ("no_face", 1)
    with pytest.raises(BiometricRefused) as mixed:
        templates.do_enrol_face(
            system, world.person_a, world.a.pk, [good, photos.jpeg(photos.astronaut())]
        )
    assert mixed.value.code == "inconsistent_photos"
    assert not Template.objects.exists()
    assert not Credential.objects.filter(kind=CredentialKind.FACE).exists()


def test_a_template_is_sealed_and_never_returned(
    world: World, system: Actor, estate: dict[str, Any], token_client: Any
) -> None:
    consent(world, system)
    template = templates.do_enrol_face(
        system, world.person_a, world.a.pk, [photos.jpeg(photos.hopper())]
    )
    vector = templates.open_vector(template.embedding_sealed, 128)
    assert vector.shape == (128,)
    stored = Template.objects.values_list("embedding_sealed", flat=True).get()
    assert stored.startswith("v1.") and str(vector[0])[:6] not in stored
    client = token_client(world.manager_a)
    status = client.get(f"/api/v1/people/{world.person_a.pk}/biometrics?community_id={world.a.pk}")
    assert status.status_code == 200
    body = status.json()
    assert body["face"]["samples"] == 1 and body["face_consent"] is True
    assert "embedding" not in status.content.decode() and stored not in status.content.decode()


def test_enrolment_over_the_api_answers_each_problem_and_is_tenant_scoped(
    world: World, system: Actor, estate: dict[str, Any], token_client: Any
) -> None:
    consent(world, system)
    client = token_client(world.manager_a)
    url = f"/api/v1/people/{world.person_a.pk}/face?community_id={world.a.pk}"

    def upload(*data: bytes, to: str = url, by: Client = client) -> Any:
        files = [io.BytesIO(d) for d in data]
        for i, f in enumerate(files):
            f.name = f"p{i}.jpg"
        return by.post(to, {"photos": files})

    dark = upload(photos.jpeg(photos.darkened(photos.hopper())))
    assert dark.status_code == 422 and dark.json()["code"] == "too_dark"
    assert "brightness" in dark.json()["details"]
    done = upload(photos.jpeg(photos.hopper()), photos.jpeg(photos.mirrored(photos.hopper())))
    assert done.status_code == 201, done.content
    assert done.json()["face"]["samples"] == 2
    other = token_client(world.manager_b)
    assert upload(photos.jpeg(photos.hopper()), by=other).status_code in (403, 404)
    gone = client.delete(url)
    assert gone.status_code == 204
    assert not Template.objects.exists()


def test_a_face_door_lets_the_enrolled_resident_in_and_answers_strangers_unknown(
    world: World, system: Actor, estate: dict[str, Any]
) -> None:
    consent(world, system)
    templates.do_enrol_face(system, world.person_a, world.a.pk, [photos.jpeg(photos.astronaut())])
    terminal = estate["client"]
    started = time.perf_counter()
    answer = at_door(terminal, photos.noisy(photos.mirrored(photos.astronaut())))
    took = time.perf_counter() - started
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["result"], body["reason"]) == ("allow", "allowed")
    assert body["distance"] < face.DOOR_THRESHOLD
    event = AccessEvent.objects.get(pk=body["event_id"])
    assert (event.method, event.person_id, event.point_id) == (
        "face",
        world.person_a.pk,
        estate["gate"].pk,
    )
    assert event.score is not None and 0 < event.score <= 1
    assert took < 5  # one photo, one process: detection and embedding well under a second

    stranger = at_door(terminal, photos.hopper()).json()
    assert (stranger["result"], stranger["reason"]) == ("deny", "unknown_credential")
    assert AccessEvent.objects.get(pk=stranger["event_id"]).person_id is None

    unusable = at_door(terminal, photos.coffee())
    assert unusable.status_code == 422 and unusable.json()["code"] == "no_face"
    big = terminal.post(
        "/device/v1/access/face?point=gate", b"\xff" * (11 * 1024 * 1024), content_type="image/jpeg"
    )
    assert big.status_code == 413
    assert AccessEvent.objects.count() == 2  # unusable photos are not access attempts


def test_withdrawn_consent_and_moving_out_delete_the_template_at_once(
    world: World, system: Actor, estate: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    given = consent(world, system)
    templates.do_enrol_face(system, world.person_a, world.a.pk, [photos.jpeg(photos.astronaut())])
    probe = photos.noisy(photos.astronaut())
    assert at_door(estate["client"], probe).json()["result"] == "allow"  # gallery loaded
    before = GalleryVersion.objects.get(community=world.a, modality="face").number
    actions.do_revoke_consent(system, given)
    assert not Template.objects.exists()
    assert GalleryVersion.objects.get(community=world.a, modality="face").number > before
    after = at_door(estate["client"], probe).json()
    assert (after["result"], after["reason"]) == ("deny", "unknown_credential")
    assert Credential.objects.get(kind=CredentialKind.FACE).status == CredentialStatus.REVOKED
    assert AuditLog.objects.filter(action="biometrics.template.delete").exists()

    consent(world, system)
    templates.do_enrol_face(system, world.person_a, world.a.pk, [photos.jpeg(photos.astronaut())])
    assert at_door(estate["client"], probe).json()["result"] == "allow"
    residency = Residency.objects.get(person=world.person_a, community=world.a)
    with django_capture_on_commit_callbacks(execute=True):
        do_end_residency(system, residency, date_to=timezone.localdate())
    assert not Template.objects.exists()
    assert at_door(estate["client"], probe).json()["reason"] == "unknown_credential"


def test_a_suspended_face_credential_is_refused_and_works_again_when_resumed(
    world: World, system: Actor, estate: dict[str, Any]
) -> None:
    consent(world, system)
    template = templates.do_enrol_face(
        system, world.person_a, world.a.pk, [photos.jpeg(photos.astronaut())]
    )
    probe = photos.noisy(photos.astronaut())
    assert at_door(estate["client"], probe).json()["result"] == "allow"
    actions.do_set_credential_status(system, template.credential, "suspend")
    assert at_door(estate["client"], probe).json()["result"] == "deny"
    actions.do_set_credential_status(system, template.credential, "resume")
    assert at_door(estate["client"], probe).json()["result"] == "allow"


def test_loading_a_gallery_is_an_audited_sensitive_read(
    world: World, system: Actor, estate: dict[str, Any]
) -> None:
    consent(world, system)
    templates.do_enrol_face(system, world.person_a, world.a.pk, [photos.jpeg(photos.astronaut())])
    at_door(estate["client"], photos.noisy(photos.astronaut()))
    at_door(estate["client"], photos.noisy(photos.astronaut(), seed=2))
    loads = AuditLog.objects.filter(action="biometrics.gallery.load")
    assert loads.count() == 1  # held in memory until the version changes
    assert loads.get().sensitive
    assert selectors.stored_faces() == 1


def test_the_enrolment_photo_is_kept_only_as_the_community_says(
    world: World, system: Actor, estate: dict[str, Any]
) -> None:
    from linli.biometrics import tasks
    from linli.core import crypto

    consent(world, system)
    data = photos.jpeg(photos.hopper())
    templates.do_enrol_face(system, world.person_a, world.a.pk, [data])
    assert Template.objects.get().photo_sealed == ""  # by default: not kept
    world.a.face_photo_retention_days = 30
    world.a.save()
    templates.do_enrol_face(system, world.person_a, world.a.pk, [data])
    kept = Template.objects.get()
    assert kept.photo_until is not None
    assert crypto.keyring().open_bytes(kept.photo_sealed, templates.PHOTO_PURPOSE) == data
    assert tasks.purge_photos(kept.photo_until - dt.timedelta(days=1)) == 0
    assert tasks.purge_photos(kept.photo_until + dt.timedelta(seconds=1)) == 1
    assert Template.objects.get().photo_sealed == ""


@pytest.mark.db_independent
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_the_one_pass_search_agrees_with_every_distance_computed(metric: str) -> None:
    from linli.biometrics.engines import distances

    rng = np.random.default_rng(11)
    for size in (1, 2, 5, 200):
        rows = rng.normal(0, 0.3, (size, 64)).astype(np.float32)
        if metric == "cosine":
            rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        persons = rng.integers(0, max(1, size // 2), size)  # some people twice
        gallery = Gallery(1, "face", "e", metric, 1, persons, np.arange(size), rows)
        for _ in range(20):
            probe = rows[rng.integers(0, size)] + rng.normal(0, 0.05, 64).astype(np.float32)
            if metric == "cosine":
                probe /= np.linalg.norm(probe)
            found = search(gallery, probe, threshold=10.0, margin=0.0)
            every = distances(rows, probe, metric)
            best = int(np.argmin(every))
            others = every[persons != persons[best]]
            assert found.distance == pytest.approx(float(every[best]), abs=1e-4)
            if others.size:
                assert found.runner_up == pytest.approx(float(others.min()), abs=1e-4)
            else:
                assert found.runner_up is None

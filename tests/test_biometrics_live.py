"""Liveness challenges, face doors with liveness, 实人认证, and voice doors."""

from __future__ import annotations

import datetime as dt
import io
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from linli.access import actions
from linli.access.choices import Modality
from linli.access.models import AccessEvent
from linli.biometrics import identity, liveness, tasks, templates
from linli.biometrics.engines import BiometricRefused
from linli.biometrics.gallery import galleries
from linli.biometrics.models import IdentityCheck
from linli.core import errors
from linli.core.models import AuditLog
from linli.core.tenancy import Actor
from linli.people.identity import seal_id
from tests import biometric_photos as photos
from tests.access_estate import gate_with_terminal
from tests.conftest import World
from tests.shared_data import shared

# 王芳 (``world.person_a``) is registered with ID_NUMBER.
# An ORL person who turns the head both ways: frame 1 frontal, 2 to their left, 6 to their
# right (yaw −0.01, 0.15, −0.16), and another person.
TURNING = ("s1", (1, 2, 3, 6))
OTHER = "s23"
ID_NUMBER = "11010519491231002X"  # a valid GB 11643 number (checksum X)


def orl(person: str, *numbers: int) -> list[bytes]:
    folder = shared("faces", "orl", person)
    return [(folder / f"{n}.pgm").read_bytes() for n in numbers]


def turning_frames() -> list[bytes]:
    return orl(TURNING[0], *TURNING[1])


def challenge(steps: tuple[str, ...]) -> liveness.Challenge:
    """A genuine challenge with the given steps (issue() picks them at random)."""
    while True:
        issued = liveness.issue(steps=len(steps))
        if issued.steps == steps:
            return issued


# Challenges ------------------------------------------------------------------------------


@pytest.mark.db_independent
def test_a_challenge_is_signed_and_expires() -> None:
    issued = liveness.issue()
    assert sorted(issued.steps) == ["left", "right"]
    assert liveness.read(issued.token).steps == issued.steps
    encoded, _dot, signature = issued.token.partition(".")
    forged = liveness.issue()
    for bad in (
        "",
        "nonsense",
        f"{encoded}.{'0' * len(signature)}",
        f"{forged.token.partition('.')[0]}.{signature}",
    ):
        with pytest.raises(BiometricRefused) as caught:
            liveness.read(bad)
        assert caught.value.code == "bad_challenge"
    with pytest.raises(BiometricRefused) as late:
        liveness.read(issued.token, now=time.time() + liveness.CHALLENGE_SECONDS + 5)
    assert late.value.code == "challenge_expired"


@pytest.mark.db_independent
def test_a_still_photo_sent_as_a_sequence_is_not_live() -> None:
    still = photos.jpeg(photos.hopper())
    assert liveness.check([still] * 4, ("left", "right")).reason == "still_image"
    # The same photo re-encoded, shifted or mirrored is a different picture but never turns.
    moved = [photos.jpeg(photos.hopper(), quality=q) for q in (95, 85)] + [
        photos.jpeg(photos.mirrored(photos.hopper())),
        photos.jpeg(photos.noisy(photos.hopper())),
    ]
    result = liveness.check(moved, ("left",))
    assert not result.passed and result.reason == "challenge_not_followed"
    assert max(abs(y) for y in result.yaws) < liveness.TURN_YAW
    with pytest.raises(BiometricRefused) as few:
        liveness.check([still, still], ("left",))
    assert few.value.code == "frame_count"


@pytest.mark.db_independent
def test_a_real_head_turn_passes_only_in_the_asked_order() -> None:
    frames = turning_frames()
    passed = liveness.check(frames, ("left", "right"))
    assert passed.passed, passed.as_dict()
    assert passed.frontal is not None and passed.frontal.shape == (128,)
    assert liveness.check(frames, ("right", "left")).reason == "challenge_not_followed"


@pytest.mark.db_independent
def test_turns_by_two_different_people_are_not_live() -> None:
    frames = [*orl(TURNING[0], 1), *orl(OTHER, 2), *orl(TURNING[0], 3), *orl(OTHER, 6)]
    result = liveness.check(frames, ("left", "right"))
    assert result.reason == "different_person"


# Face doors with liveness ----------------------------------------------------------------


@pytest.fixture
def estate(world: World, system: Actor, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    setup = gate_with_terminal(world, system, django_capture_on_commit_callbacks)
    galleries.forget()
    return setup


def enrol(world: World, system: Actor, photo: bytes) -> None:
    actions.do_record_consent(
        system, world.person_a, world.a.pk, modality=Modality.FACE, text_version="v1",
        channel="front_desk",
    )  # fmt: skip
    templates.do_enrol_face(system, world.person_a, world.a.pk, [photo])


def post_frames(client: Client, token: str, frames: list[bytes]) -> Any:
    files = []
    for i, data in enumerate(frames):
        f = io.BytesIO(data)
        f.name = f"f{i}.png"
        files.append(f)
    return client.post(
        "/device/v1/access/face/live?point=gate", {"challenge": token, "frames": files}
    )


def test_a_live_face_opens_the_door_and_a_replayed_or_still_sequence_does_not(
    world: World, system: Actor, estate: dict[str, Any]
) -> None:
    frames = turning_frames()
    enrol(world, system, orl(TURNING[0], 3)[0])
    terminal = estate["client"]
    issued = terminal.post("/device/v1/access/face/challenge")
    assert issued.status_code == 200 and len(issued.json()["steps"]) == 2
    asked = challenge(("left", "right"))
    answer = post_frames(terminal, asked.token, frames)
    assert answer.status_code == 200, answer.content
    assert (answer.json()["result"], answer.json()["reason"]) == ("allow", "allowed")
    again = post_frames(terminal, asked.token, frames)
    assert again.status_code == 422 and again.json()["code"] == "challenge_used"
    later = dt.datetime.fromtimestamp(asked.expires_at + 1, tz=dt.UTC)
    assert tasks.purge_challenges(later) == 1  # once expired, the token is refused anyway
    still = post_frames(terminal, challenge(("left", "right")).token, [frames[0]] * 4)
    assert still.status_code == 422 and still.json()["code"] == "not_live"
    assert still.json()["details"]["reason"] == "still_image"
    assert AccessEvent.objects.count() == 1


# 实人认证 --------------------------------------------------------------------------------


def attempt(world: World, frames: list[bytes], reference: bytes | None, **kw: Any) -> Any:
    fields = {
        "community_id": world.a.pk,
        "name": world.person_a.name,
        "id_number": ID_NUMBER,
        "challenge": challenge(("left", "right")).token,
        "frames": frames,
        "reference_photo": reference,
    }
    return identity.Attempt(**{**fields, **kw})


def test_real_person_authentication(world: World, system: Actor, estate: dict[str, Any]) -> None:
    frames = turning_frames()
    same, other = orl(TURNING[0], 8)[0], orl(OTHER, 1)[0]
    passed = identity.do_check_identity(system, attempt(world, frames, same))
    assert passed.passed and passed.reason == "matched", passed.reason
    assert passed.expires_at is not None and passed.distance is not None
    assert ID_NUMBER not in passed.id_number_masked and passed.id_number_masked.endswith("002X")
    wrong = identity.do_check_identity(system, attempt(world, frames, other))
    assert (wrong.passed, wrong.reason) == (False, "face_mismatch")
    still = identity.do_check_identity(system, attempt(world, [frames[0]] * 3, same))
    assert (still.passed, still.reason) == (False, "not_live:still_image")
    nobody = identity.do_check_identity(system, attempt(world, frames, None))
    assert nobody.reason == "no_reference"
    with pytest.raises(errors.ValidationFailed) as bad_id:
        identity.do_check_identity(
            system, attempt(world, frames, same, id_number="110105194912310021")
        )
    assert bad_id.value.code == "id_number_checksum"
    assert IdentityCheck.objects.count() == 4
    assert AuditLog.objects.filter(action="biometrics.identity.check", sensitive=True).count() == 4
    assert ID_NUMBER not in str(list(IdentityCheck.objects.values()))


def test_real_person_authentication_uses_the_register(
    world: World, system: Actor, estate: dict[str, Any]
) -> None:
    sealed, lookup, masked = seal_id("resident_id", ID_NUMBER)
    world.person_a.id_type = "resident_id"
    world.person_a.id_number_sealed, world.person_a.id_number_hash = sealed, lookup
    world.person_a.id_number_masked = masked
    world.person_a.save()
    frames = turning_frames()
    enrol(world, system, orl(TURNING[0], 8)[0])
    by_template = identity.do_check_identity(system, attempt(world, frames, None))
    assert (by_template.passed, by_template.reference) == (True, "template")
    assert by_template.person_id == world.person_a.pk
    renamed = identity.do_check_identity(system, attempt(world, frames, None, name="别人"))
    assert renamed.reason == "name_mismatch"


def test_real_person_authentication_over_the_api(
    world: World, system: Actor, estate: dict[str, Any], token_client: Any
) -> None:
    frames = turning_frames()
    client = token_client(world.manager_a)
    issued = client.post("/api/v1/biometrics/challenges")
    assert issued.status_code == 201
    uploads = []
    for i, data in enumerate(frames):
        f = io.BytesIO(data)
        f.name = f"f{i}.png"
        uploads.append(f)
    reference = io.BytesIO(orl(TURNING[0], 8)[0])
    reference.name = "ref.png"
    answer = client.post(
        "/api/v1/identity-checks",
        {
            "community_id": world.a.pk,
            "name": world.person_a.name,
            "id_number": ID_NUMBER,
            "challenge": challenge(("left", "right")).token,
            "frames": uploads,
            "reference": reference,
        },
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["passed"] is True, body
    assert ID_NUMBER not in answer.content.decode()
    guard = token_client(world.guard_a)
    assert guard.post("/api/v1/identity-checks", {"community_id": world.a.pk}).status_code in (
        403,
        422,
    )


# Voice doors -----------------------------------------------------------------------------


def speakers() -> list[Path]:
    return sorted(p for p in shared("voices", "librispeech").iterdir() if p.is_dir())


def test_a_voice_door_accepts_the_enrolled_speaker_only(
    world: World, system: Actor, estate: dict[str, Any]
) -> None:
    pytest.importorskip("resemblyzer", reason="the voice extra is not installed")
    first, second = speakers()[:2]
    mine = sorted(first.glob("*.flac"))
    theirs = sorted(second.glob("*.flac"))
    actions.do_record_consent(
        system, world.person_a, world.a.pk, modality=Modality.VOICE, text_version="v1",
        channel="app",
    )  # fmt: skip
    templates.do_enrol_voice(system, world.person_a, world.a.pk, [p.read_bytes() for p in mine[:3]])
    terminal = estate["client"]
    url = f"/device/v1/access/voice?point=gate&person={world.person_a.pk}"

    def say(path: Path) -> Any:
        return terminal.post(url, path.read_bytes(), content_type="audio/flac")

    me = say(mine[5])
    assert me.status_code == 200, me.content
    assert (me.json()["result"], me.json()["reason"]) == ("allow", "allowed")
    impostor = say(theirs[0]).json()
    assert (impostor["result"], impostor["reason"]) == ("deny", "unknown_credential")
    silence = terminal.post(url, b"RIFF" + b"\x00" * 100, content_type="audio/wav")
    assert silence.status_code == 422
    nobody = terminal.post(
        f"/device/v1/access/voice?point=gate&person={world.person_b.pk}",
        mine[5].read_bytes(),
        content_type="audio/flac",
    ).json()  # no voiceprint here: nothing to match, however the voice sounds
    assert (nobody["result"], nobody["reason"], nobody["distance"]) == (
        "deny",
        "unknown_credential",
        None,
    )


def test_voice_enrolment_needs_consent(world: World, system: Actor, estate: dict[str, Any]) -> None:
    with pytest.raises(errors.Conflict) as caught:
        templates.do_enrol_voice(system, world.person_a, world.a.pk, [b"x", b"y", b"z"])
    assert caught.value.code == "no_consent"


class _Strict:
    """A stand-in for an outside service: refuses everyone (a real provider's shape)."""

    name = "strict-test-provider"

    def compare(self, **kwargs: Any) -> identity.ProviderAnswer:
        return identity.ProviderAnswer(False, None, "provider_refused")


def test_another_provider_plugs_in_by_setting(
    world: World, system: Actor, estate: dict[str, Any], settings: Any
) -> None:
    settings.LINLI_IDENTITY_PROVIDER = "tests.test_biometrics_live._Strict"
    frames = turning_frames()
    check = identity.do_check_identity(system, attempt(world, frames, orl(TURNING[0], 8)[0]))
    assert (check.provider, check.passed, check.reason) == (
        "strict-test-provider",
        False,
        "provider_refused",
    )

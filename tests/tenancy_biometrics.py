"""Cross-tenant cases for the biometrics API; see test_tenancy. Manager A acts on B."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from django.test import Client

from linli.access import actions
from linli.biometrics import liveness, templates
from linli.biometrics.models import IdentityCheck, Template
from linli.core.tenancy import Actor
from tests import biometric_photos as photos
from tests.conftest import World

Case = Callable[[Client, World, dict[str, object]], None]
API = "/api/v1"


def _404(response: Any) -> None:
    assert response.status_code == 404, response.content
    assert json.loads(response.content)["code"] == "not_found"


def _b_face(w: World) -> Template:
    s = Actor.system("test")
    actions.do_record_consent(
        s, w.person_b, w.b.pk, modality="face", text_version="v1", channel="paper"
    )
    return templates.do_enrol_face(s, w.person_b, w.b.pk, [photos.jpeg(photos.hopper())])


def _file(data: bytes, name: str) -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


def case_status(c: Client, w: World, b: dict[str, object]) -> None:
    _b_face(w)
    _404(c.get(f"{API}/people/{w.person_b.pk}/biometrics?community_id={w.b.pk}"))
    _404(c.get(f"{API}/people/{w.person_b.pk}/biometrics?community_id={w.a.pk}"))


def case_enrol_face(c: Client, w: World, b: dict[str, object]) -> None:
    actions.do_record_consent(
        Actor.system("test"), w.person_b, w.b.pk, modality="face", text_version="v1",
        channel="paper",
    )  # fmt: skip
    url = f"{API}/people/{w.person_b.pk}/face?community_id={w.b.pk}"
    _404(c.post(url, {"photos": [_file(photos.jpeg(photos.hopper()), "f.jpg")]}))
    assert not Template.objects.exists()


def case_delete_face(c: Client, w: World, b: dict[str, object]) -> None:
    template = _b_face(w)
    _404(c.delete(f"{API}/people/{w.person_b.pk}/face?community_id={w.b.pk}"))
    assert Template.objects.filter(pk=template.pk).exists()


def case_enrol_voice(c: Client, w: World, b: dict[str, object]) -> None:
    url = f"{API}/people/{w.person_b.pk}/voice?community_id={w.b.pk}"
    _404(c.post(url, {"utterances": [_file(b"RIFF", f"{i}.wav") for i in range(3)]}))
    assert not Template.objects.exists()


def case_challenge(c: Client, w: World, b: dict[str, object]) -> None:
    # Not tied to a community: any signed-in user may ask for one; it opens nothing.
    answer = c.post(f"{API}/biometrics/challenges")
    assert answer.status_code == 201
    assert liveness.read(answer.json()["token"]).steps


def case_identity_check(c: Client, w: World, b: dict[str, object]) -> None:
    frame = _file(photos.jpeg(photos.hopper()), "f.jpg")
    body = {
        "community_id": w.b.pk,
        "name": w.person_b.name,
        "id_number": "330106198503151238",
        "challenge": liveness.issue().token,
        "frames": [frame],
    }
    _404(c.post(f"{API}/identity-checks", body))
    assert not IdentityCheck.objects.exists()


BIOMETRIC_CASES: dict[tuple[str, str], Case] = {
    ("get", "/api/v1/people/{person_id}/biometrics"): case_status,
    ("post", "/api/v1/people/{person_id}/face"): case_enrol_face,
    ("delete", "/api/v1/people/{person_id}/face"): case_delete_face,
    ("post", "/api/v1/people/{person_id}/voice"): case_enrol_voice,
    ("post", "/api/v1/biometrics/challenges"): case_challenge,
    ("post", "/api/v1/identity-checks"): case_identity_check,
}

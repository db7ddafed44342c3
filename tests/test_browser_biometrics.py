"""In Chromium: a property manager records a resident's consent, enrols the face from a
photo (a refused photo first, with the reason shown), and reads the evaluation report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from linli.biometrics import evaluation, metrics
from linli.biometrics.models import Template
from linli.people.models import Person
from tests import biometric_photos as photos
from tests.test_browser import chromium_page  # noqa: F401  (the fixture)
from tests.test_browser_access import manager_signed_in

pytestmark = pytest.mark.browser


def test_a_manager_enrols_a_face_and_reads_the_evaluation(
    live_server: Any,
    chromium_page: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    page = chromium_page
    manager_signed_in(page, live_server.url, "bio-manager")
    person = Person.objects.get(name="王芳")
    page.goto(f"{live_server.url}/people/{person.pk}/")
    page.select_option("#consent-modality", "face")
    page.click("#record-consent button[type=submit]")
    page.wait_for_selector("#enrol-face")
    dark, good = tmp_path / "dark.jpg", tmp_path / "face.jpg"
    dark.write_bytes(photos.jpeg(photos.darkened(photos.hopper())))
    good.write_bytes(photos.jpeg(photos.hopper()))
    page.set_input_files("#enrol-face-files", str(dark))
    page.click("#enrol-face button[type=submit]")
    page.wait_for_selector("text=光线太暗")
    assert not Template.objects.exists()
    page.set_input_files("#enrol-face-files", [str(good)])
    page.click("#enrol-face button[type=submit]")
    page.wait_for_selector('[data-modality="face"][data-enrolled="1"]')
    assert "已采集" in page.inner_text("#biometrics")

    genuine, impostor = [0.3, 0.35, 0.4, 0.52], [0.6, 0.7, 0.8, 0.9, 1.0]
    report = {
        "engine": "dlib-resnet-128",
        "people": 2,
        "photos": 9,
        "photos_used": 9,
        "verification": {"photo vs photo": metrics.summary(genuine, impostor, (1e-3, 1e-4))},
        "identification": {"threshold": 0.46, "margin": 0.05},
    }
    evaluation.store(report, metrics.det_png({"photo vs photo": (genuine, impostor)}), "face")
    page.click("#nav-biometrics")
    page.wait_for_selector("#det-plot")
    assert page.inner_text("#stored-faces-count").strip() == "1"
    loaded = page.eval_on_selector("#det-plot", "img => img.complete && img.naturalWidth")
    assert loaded == 640


def test_a_resident_consents_enrols_opens_the_gate_by_face_and_withdraws(
    live_server: Any,
    chromium_page: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    from linli.access import compile
    from linli.access.choices import Effect, GroupKind
    from linli.access.models import AccessPoint, Group, Policy
    from linli.biometrics.gallery import galleries
    from linli.devices.simulator import HttpDevice
    from tests.test_browser import PASSWORD
    from tests.test_browser_access import estate

    code, secret = estate()
    galleries.forget()
    gate = AccessPoint.objects.get(code="gate-1")
    residents = Group.objects.create(
        community_id=gate.community_id, name="住户", kind=GroupKind.RESIDENTS
    )
    policy = Policy.objects.create(
        community_id=gate.community_id, name="住户", effect=Effect.ALLOW, group=residents
    )
    policy.points.set([gate])
    compile.compile_policy(policy)

    page = chromium_page
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "wangfang")
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.click("#nav-face")
    page.wait_for_selector("#face-notice")
    assert page.get_attribute("#face-status", "data-consent") == "0"
    page.check("#face-agree")
    page.click("#face-consent button[type=submit]")
    page.wait_for_selector("#face-enrol")
    photo = tmp_path / "me.jpg"
    photo.write_bytes(photos.jpeg(photos.astronaut()))
    page.set_input_files("#face-photo", str(photo))
    page.click("#face-enrol button[type=submit]")
    page.wait_for_selector('#face-status[data-enrolled="1"]')

    # The gate's face terminal sends a new capture of her face.
    door = HttpDevice(live_server.url, code, secret)
    capture = photos.jpeg(photos.noisy(photos.mirrored(photos.astronaut())))
    headers = {**door.token_headers(), "Content-Type": "image/jpeg"}
    answer = door.request("POST", "access/face?point=gate-1&direction=in", capture, headers)
    assert answer.status == 200, answer.body
    assert (answer.body["result"], answer.body["reason"]) == ("allow", "allowed")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#face-withdraw button[type=submit]")
    page.wait_for_selector("#face-notice")
    assert not Template.objects.exists()
    after = door.request("POST", "access/face?point=gate-1&direction=in", capture, headers)
    assert (after.body["result"], after.body["reason"]) == ("deny", "unknown_credential")

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

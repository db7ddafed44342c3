"""The face and voice panel of a person's page, and the evaluation report page."""

from __future__ import annotations

import io
from typing import Any

from linli.biometrics import evaluation
from linli.biometrics.models import Template
from tests import biometric_photos as photos
from tests.conftest import World


def upload(data: bytes, name: str = "face.jpg") -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


def test_a_face_is_enrolled_from_the_person_page_with_feedback(world: World, login: Any) -> None:
    client = login(world.manager_a)
    person = world.person_a
    page = client.get(f"/people/{person.pk}/").content.decode()
    assert 'id="biometrics"' in page and 'id="enrol-face"' not in page  # no consent yet
    client.post(
        f"/people/{person.pk}/consents/",
        {"modality": "face", "channel": "front_desk", "text_version": "2026-01"},
    )
    page = client.get(f"/people/{person.pk}/").content.decode()
    assert 'id="enrol-face"' in page and 'capture="user"' in page
    dark = client.post(
        f"/people/{person.pk}/face/",
        {"photos": upload(photos.jpeg(photos.darkened(photos.hopper())))},
        follow=True,
    )
    assert "光线太暗" in dark.content.decode() and "亮度" in dark.content.decode()
    assert not Template.objects.exists()
    done = client.post(
        f"/people/{person.pk}/face/", {"photos": upload(photos.jpeg(photos.hopper()))}, follow=True
    )
    text = done.content.decode()
    assert "人脸已采集" in text and 'data-modality="face" data-enrolled="1"' in text
    template = Template.objects.get()
    assert template.embedding_sealed not in text
    dashboard = client.get("/").content.decode()
    assert 'data-count="faces">1<' in dashboard and "100000" in dashboard
    client.post(f"/people/{person.pk}/biometrics/face/delete/")
    assert not Template.objects.exists()


def test_other_tenants_and_guards_cannot_enrol(world: World, login: Any) -> None:
    other = login(world.manager_b)
    answer = other.post(
        f"/people/{world.person_a.pk}/face/", {"photos": upload(photos.jpeg(photos.hopper()))}
    )
    assert answer.status_code == 404
    guard = login(world.guard_a)
    page = guard.get(f"/people/{world.person_a.pk}/").content.decode()
    assert 'id="biometrics"' not in page


def test_the_evaluation_page_shows_the_latest_report_and_its_plot(world: World, login: Any) -> None:
    client = login(world.manager_a)
    empty = client.get("/biometrics/evaluation/").content.decode()
    assert "还没有评测结果" in empty
    report = {
        "engine": "dlib-resnet-128",
        "people": 2,
        "photos": 10,
        "photos_used": 10,
        "verification": {
            "photo vs photo": {
                "genuine_pairs": 20,
                "impostor_pairs": 25,
                "eer": 0.01,
                "at_far": {"0.001": {"frr": 0.02}, "0.0001": {"frr": 0.05}},
            }
        },
        "identification": {
            "threshold": 0.46,
            "margin": 0.05,
            "closed_set_rank1": 1.0,
            "open_set_identified": 0.98,
            "open_set_wrong_person": 0.0,
            "non_enrolled_rejected": 1.0,
            "non_enrolled_probes": 10,
        },
    }
    stored = evaluation.store(report, b"\x89PNG fake", "face")
    page = client.get("/biometrics/evaluation/").content.decode()
    assert 'id="det-plot"' in page and "0.0200" in page
    plot = client.get(f"/biometrics/evaluation/{stored}/plot.png")
    assert plot["Content-Type"] == "image/png"
    other = login(world.manager_b)  # a manager elsewhere may read the platform's figures
    assert other.get("/biometrics/evaluation/").status_code == 200

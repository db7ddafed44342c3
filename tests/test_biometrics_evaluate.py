"""``linli biometrics evaluate`` on the shared photos (real people; needed in CI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linli import cli
from linli.biometrics import face
from tests.shared_data import shared


@pytest.mark.db_independent
def test_the_evaluation_of_the_orl_faces_meets_the_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = shared("faces", "orl")
    cli.main(
        [
            "biometrics",
            "evaluate",
            "--faces",
            str(folder),
            "--out",
            str(tmp_path),
            "-q",
            "--no-store",
        ]
    )
    printed = capsys.readouterr().out
    assert "non-enrolled rejected" in printed
    report = json.loads((tmp_path / "faces.json").read_text())
    assert (tmp_path / "faces-det.png").read_bytes().startswith(b"\x89PNG")
    assert report["people"] == 30 and report["photos_used"] >= 290
    templates = report["verification"]["3-photo template vs photo"]
    assert templates["at_far"]["0.001"]["frr"] <= 0.05  # FRR ≤ 5 % at FAR ≤ 0.1 %
    ident = report["identification"]
    assert ident["threshold"] == face.DOOR_THRESHOLD
    assert ident["open_set_wrong_person"] == 0
    assert ident["non_enrolled_rejected"] == 1.0  # all 300 strangers answered unknown
    assert ident["open_set_identified"] >= 0.95


@pytest.mark.db_independent
def test_the_evaluation_of_the_librispeech_voices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("resemblyzer", reason="the voice extra is not installed")
    from linli.biometrics import voice

    folder = shared("voices", "librispeech")
    cli.main(["biometrics", "evaluate", "--voices", str(folder), "--out", str(tmp_path), "-q",
              "--no-store"])  # fmt: skip
    report = json.loads((tmp_path / "voices.json").read_text())
    assert report["people"] == 7 and report["photos_used"] == 70
    templates = report["verification"]["3-utterance template vs utterance"]
    assert templates["eer"] <= 0.01
    at = report["at_door_threshold"]["3-utterance template vs utterance"]
    assert at["threshold"] == voice.VOICE_THRESHOLD and at["far"] == 0
    assert "EER" in capsys.readouterr().out

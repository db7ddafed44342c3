"""``linli biometrics evaluate``: how well the engines tell people apart, on real data.

Faces: a folder of photos, one sub-folder per person (any depth; a folder holding images
is one person). Every photo is checked as a door would check it and embedded, then:

- **verification, photo against photo**: every pair of photos of one person (genuine)
  and of two people (impostor);
- **verification, enrolment against photo**: each person's first :data:`ENROL_PHOTOS`
  photos make the template (their mean, as enrolment does), the rest are probes;
- **identification** (leave one person out): every probe searched in the gallery of
  every person's template (closed set: is the nearest the right one; open set: is it
  accepted, and right, at the engine's threshold and margin), and every photo of each
  person searched in the gallery of everyone *else* (it must come back unknown).

The report has the distances' spreads, the EER, the FRR at each FAR, the counts every
rate rests on, and a DET plot.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from linli.biometrics import face as faces
from linli.biometrics import images, metrics
from linli.biometrics.engines import BiometricRefused, Vector, distances
from linli.biometrics.search import Gallery, search

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".pgm", ".bmp", ".webp"}
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg"}
VOICE_FARS = (1e-2, 1e-3)
ENROL_PHOTOS = 3
FARS = (1e-3, 1e-4)


@dataclasses.dataclass
class Embedded:
    """Embeddings by person, and the photos refused (by reason)."""

    people: dict[str, list[Vector]]
    refused: Counter[str]
    photos: int


def people_folders(root: Path, suffixes: set[str]) -> dict[str, list[Path]]:
    """Each folder under ``root`` holding files with ``suffixes``: one person."""
    found: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix.lower() in suffixes:
            found.setdefault(str(path.parent.relative_to(root)), []).append(path)
    return found


def embed_all(
    root: Path,
    suffixes: set[str],
    embed: Callable[[bytes], Vector],
    *,
    desc: str,
    progress: bool = True,
) -> Embedded:
    """Check and embed every sample under ``root`` (a folder per person); count refusals."""
    folders = people_folders(root, suffixes)
    people: dict[str, list[Vector]] = {}
    refused: Counter[str] = Counter()
    total = sum(len(v) for v in folders.values())
    with tqdm(total=total, desc=desc, disable=not progress) as bar:
        for person, paths in folders.items():
            for path in paths:
                bar.update(1)
                try:
                    people.setdefault(person, []).append(embed(path.read_bytes()))
                except BiometricRefused as exc:
                    refused[exc.code] += 1
    return Embedded(people, refused, total)


def embed_faces(root: Path, progress: bool = True) -> Embedded:
    """Check (as a door does) and embed every photo under ``root``."""
    engine = faces.engine()

    def embed(data: bytes) -> Vector:
        decoded = images.decode(data)
        face, _quality = faces.assess(decoded.pixels, engine.detect(decoded.pixels), faces.DOOR)
        return engine.embed(decoded.pixels, face)

    return embed_all(root, IMAGE_SUFFIXES, embed, desc="faces", progress=progress)


def _template_scores(
    templates: dict[str, Vector], probes: dict[str, list[Vector]], metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """Each probe against its own template (genuine) and everyone else's (impostor)."""
    genuine: list[float] = []
    impostor: list[np.ndarray] = []
    names = list(templates)
    for name in names:
        others = np.stack([templates[n] for n in names if n != name])
        for vector in probes[name]:
            genuine.append(float(distances(templates[name][None, :], vector, metric)[0]))
            impostor.append(distances(others, vector, metric))
    return np.asarray(genuine), np.concatenate(impostor) if impostor else np.zeros(0)


def _pairs(people: dict[str, list[Vector]], metric: str) -> tuple[np.ndarray, np.ndarray]:
    genuine: list[float] = []
    impostor: list[np.ndarray] = []
    names = list(people)
    stacks = {name: np.stack(people[name]) for name in names}
    for name in names:
        vectors = stacks[name]
        for a, b in itertools.combinations(range(len(vectors)), 2):
            genuine.append(float(distances(vectors[a : a + 1], vectors[b], metric)[0]))
    for first, second in itertools.combinations(names, 2):
        for vector in stacks[first]:
            impostor.append(distances(stacks[second], vector, metric))
    return np.asarray(genuine), np.concatenate(impostor) if impostor else np.zeros(0)


def _templates(
    people: dict[str, list[Vector]], average: Callable[[list[Vector]], Vector]
) -> tuple[dict[str, Vector], dict[str, list[Vector]]]:
    templates: dict[str, Vector] = {}
    probes: dict[str, list[Vector]] = {}
    for name, vectors in people.items():
        if len(vectors) <= ENROL_PHOTOS:
            continue  # not enough photos to enrol and probe
        templates[name] = average(vectors[:ENROL_PHOTOS])
        probes[name] = vectors[ENROL_PHOTOS:]
    return templates, probes


def _mean(vectors: list[Vector]) -> Vector:
    return np.mean(np.stack(vectors), axis=0).astype(np.float32)


def identification(
    templates: dict[str, Vector],
    probes: dict[str, list[Vector]],
    everyone: dict[str, list[Vector]],
    *,
    metric: str,
    threshold: float,
    margin: float,
) -> dict[str, Any]:
    """Closed- and open-set identification against the templates (see the module doc)."""
    names = list(templates)
    index = {name: i for i, name in enumerate(names)}
    matrix = np.stack([templates[n] for n in names]).astype(np.float32)

    def gallery(keep: np.ndarray) -> Gallery:
        ids = np.arange(len(names), dtype=np.int64)[keep]
        return Gallery(0, "", "", metric, 0, ids, ids, matrix[keep])

    everything = gallery(np.ones(len(names), dtype=bool))
    rank1 = accepted_right = accepted_wrong = 0
    enrolled_probes = 0
    for name, vectors in probes.items():
        for vector in vectors:
            enrolled_probes += 1
            nearest = int(np.argmin(distances(matrix, vector, metric)))
            rank1 += nearest == index[name]
            match = search(everything, vector, threshold=threshold, margin=margin)
            if match.known:
                if match.person_id == index[name]:
                    accepted_right += 1
                else:
                    accepted_wrong += 1
    strangers = strangers_accepted = 0
    nearest_stranger = float("inf")
    for name in names:
        without = gallery(np.arange(len(names)) != index[name])
        for vector in everyone[name]:
            strangers += 1
            match = search(without, vector, threshold=threshold, margin=margin)
            strangers_accepted += match.known
            if match.distance is not None:
                nearest_stranger = min(nearest_stranger, match.distance)
    return {
        "gallery": len(names),
        "enrolled_probes": enrolled_probes,
        "closed_set_rank1": _share(rank1, enrolled_probes),
        "open_set_identified": _share(accepted_right, enrolled_probes),
        "open_set_wrong_person": _share(accepted_wrong, enrolled_probes),
        "non_enrolled_probes": strangers,
        "non_enrolled_rejected": _share(strangers - strangers_accepted, strangers),
        "non_enrolled_accepted": strangers_accepted,
        "nearest_non_enrolled_distance": round(nearest_stranger, 4),
        "threshold": threshold,
        "margin": margin,
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def evaluate_faces(
    root: Path,
    *,
    threshold: float = faces.DOOR_THRESHOLD,
    margin: float = faces.DOOR_MARGIN,
    progress: bool = True,
) -> tuple[dict[str, Any], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The face report and the score sets behind its plot."""
    engine = faces.engine()
    embedded = embed_faces(root, progress)
    photo_g, photo_i = _pairs(embedded.people, engine.metric)
    templates, probes = _templates(embedded.people, _mean)
    scores = {
        "photo vs photo": (photo_g, photo_i),
        f"{ENROL_PHOTOS}-photo template vs photo": _template_scores(
            templates, probes, engine.metric
        ),
    }
    report = {
        "engine": engine.name,
        "metric": engine.metric,
        "data": str(root),
        "people": len(embedded.people),
        "photos": embedded.photos,
        "photos_used": sum(len(v) for v in embedded.people.values()),
        "refused": dict(embedded.refused),
        "verification": {label: metrics.summary(g, i, FARS) for label, (g, i) in scores.items()},
        "at_door_threshold": {
            label: metrics.rates(g, i, threshold).as_dict() for label, (g, i) in scores.items()
        },
        "identification": identification(
            templates,
            probes,
            embedded.people,
            metric=engine.metric,
            threshold=threshold,
            margin=margin,
        ),
    }
    return report, scores


def write_report(
    out: Path, name: str, report: dict[str, Any], scores: dict[str, tuple[Any, Any]]
) -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>-det.png`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{name}.json"
    png_path = out / f"{name}-det.png"
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    png_path.write_bytes(metrics.det_png(scores, title=f"{report['engine']}: DET"))
    return json_path, png_path


def describe(report: dict[str, Any]) -> str:
    """The report's headline figures, for a terminal."""
    lines = [
        f"{report['engine']}: {report['people']} people, {report['photos_used']} of "
        f"{report['photos']} samples used (refused: {report['refused'] or 'none'})"
    ]
    for label, summary in report["verification"].items():
        rates = ", ".join(
            f"FRR {point['frr']:.2%} at FAR {far} (threshold {point['threshold']})"
            for far, point in summary["at_far"].items()
        )
        lines.append(
            f"  {label}: {summary['genuine_pairs']:,} genuine / {summary['impostor_pairs']:,} "
            f"impostor pairs; EER {summary['eer']:.2%}; {rates}"
        )
    ident = report["identification"]
    if "closed_set_rank1" not in ident:
        return "\n".join(lines)
    lines.append(
        f"  identification (threshold {ident['threshold']}, margin {ident['margin']}): "
        f"closed-set rank-1 {ident['closed_set_rank1']:.2%}, open-set identified "
        f"{ident['open_set_identified']:.2%}, wrong person {ident['open_set_wrong_person']:.2%}; "
        f"non-enrolled rejected {ident['non_enrolled_rejected']:.2%} of "
        f"{ident['non_enrolled_probes']}"
    )
    return "\n".join(lines)


def store(report: dict[str, Any], plot: bytes, modality: str) -> int:
    """Keep a report (and its plot) for the console; return its id."""
    from linli.biometrics.models import EvaluationReport

    return int(
        EvaluationReport.objects.create(
            modality=modality, engine=report["engine"], report=report, plot=plot
        ).pk
    )


def evaluate_voices(
    root: Path, *, progress: bool = True
) -> tuple[dict[str, Any], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The voice report: recordings in a folder per speaker, checked and embedded as an
    enrolment or a voice door would; utterance against utterance, and a template of each
    speaker's first :data:`ENROL_PHOTOS` recordings against the rest."""
    from linli.biometrics import voice

    engine = voice.engine()
    embedded = embed_all(
        root,
        AUDIO_SUFFIXES,
        lambda data: voice.embed_upload(data, voice=engine),
        desc="voices",
        progress=progress,
    )
    speakers, refused, total = embedded.people, embedded.refused, embedded.photos
    single_g, single_i = _pairs(speakers, engine.metric)
    templates, probes = _templates(speakers, _unit_mean)
    scores = {
        "utterance vs utterance": (single_g, single_i),
        f"{ENROL_PHOTOS}-utterance template vs utterance": _template_scores(
            templates, probes, engine.metric
        ),
    }
    report = {
        "engine": engine.name,
        "metric": engine.metric,
        "data": str(root),
        "people": len(speakers),
        "photos": total,
        "photos_used": sum(len(v) for v in speakers.values()),
        "refused": dict(refused),
        "verification": {
            label: metrics.summary(g, i, VOICE_FARS) for label, (g, i) in scores.items() if len(g)
        },
        "at_door_threshold": {
            label: metrics.rates(g, i, voice.VOICE_THRESHOLD).as_dict()
            for label, (g, i) in scores.items()
            if len(g)
        },
        "identification": {"threshold": voice.VOICE_THRESHOLD, "margin": None},
    }
    return report, scores


def _unit_mean(vectors: list[Vector]) -> Vector:
    mean = np.mean(np.stack(vectors), axis=0)
    return (mean / np.linalg.norm(mean)).astype(np.float32)

"""The biometrics benchmark: face doors, exact 1:N search, and batch enrolment.

Three parts, each beside a baseline measured in the same run, each step in a child process
with Linli's production settings and a fresh SQLite scratch database (``--db`` may add
PostgreSQL):

- **door**: ``linli.biometrics.doors.decide_face`` in-process, a real JPEG in and a logged
  access decision out, against a community of ``--gallery`` residents who all have a face
  template (real ones made from the shared photos, enrolled through
  ``templates.do_enrol_face``; synthetic embeddings stored through ``templates.store_face``
  for the rest). The probes are other real photos of the enrolled people and all photos of
  people left out. Baseline: the engine's detect + embed alone on the same photos, already
  decoded. Target: p95 ≤ 300 ms.
- **search**: ``linli.biometrics.search.search`` over 100,000 and 1,000,000 random 128-d
  float32 templates, beside a plain ``G @ q`` of the same size (what reading the matrix
  once costs), and beside a variant that precomputes the rows' squared norms (measured
  here only; a proposal, not product code).
- **enrol**: ``linli.biometrics.batch.enrol_folder`` on ``--photos`` files named by
  resident ID number (variants of the shared photos: flipped, cropped, relit, noisy),
  people seeded with consent, with ``--workers`` processes and the progress bar; beside
  the same code embedding in its own process (``workers=0``) and with one worker, each on
  ``--sample`` other people.

The shared photos are read where they are (``--faces``), never copied into the project;
the variants and the scratch database live in a temporary directory removed afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import databases, report
from bench.registry import register
from bench.site import runner

MARKER = "LINLI_BENCH_BIOMETRICS"
TARGET_DOOR_P95_MS = 300.0
COMMUNITY = "bench-face"
PARTS = ("door", "search", "enrol")
# People whose photos are never enrolled at the door: their photos must come back unknown.
STRANGERS = ("s26", "s27", "s28", "s29", "s30")
ENROL_PHOTOS = 3


def default_faces() -> Path:
    """The shared face photos: ``$LINLI_TEST_DATA/faces``, else ``shared/data/faces``
    beside the checkout (as the tests find them)."""
    configured = os.environ.get("LINLI_TEST_DATA", "")
    base = Path(configured) if configured else runner.REPO_DIR.parent / "shared" / "data"
    return base / "faces"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options."""
    databases.add_arguments(parser)
    parser.set_defaults(db="sqlite")
    parser.add_argument("--parts", default=",".join(PARTS), help="which parts, comma-separated")
    parser.add_argument("--faces", type=Path, default=default_faces(), help="shared photos")
    parser.add_argument("--gallery", type=int, default=1000, help="door: enrolled residents")
    parser.add_argument("--decisions", type=int, default=300, help="door: decisions per rep")
    parser.add_argument("--repeat", type=int, default=3, help="door and search repetitions")
    parser.add_argument(
        "--sizes", default="100000,1000000", help="search: gallery sizes, comma-separated"
    )
    parser.add_argument("--searches", type=int, default=200, help="search: probes per rep")
    parser.add_argument("--photos", type=int, default=10_000, help="enrol: photos in the batch")
    parser.add_argument("--sample", type=int, default=500, help="enrol: photos per baseline")
    parser.add_argument("--workers", type=int, default=2, help="enrol: worker processes")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 300 residents, 60 decisions, 100,000 templates, 500 photos, once",
    )
    parser.add_argument("--results-dir", type=Path, default=report.RESULTS_DIR)


# -- child steps (run with Linli's environment; import Django) --------------------------


def _setup() -> None:
    import django

    django.setup()


def _cpu() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "self": own.ru_utime + own.ru_stime,
        "children": children.ru_utime + children.ru_stime,
        "peak_mb": own.ru_maxrss / 1024,
    }


def _summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "n": len(ordered),
        "p50_ms": round(report.percentile(ordered, 50) * 1000, 2),
        "p95_ms": round(report.percentile(ordered, 95) * 1000, 2),
        "p99_ms": round(report.percentile(ordered, 99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(sum(ordered) / len(ordered) * 1000, 2),
    }


def _jpeg(image: Any, quality: int = 92) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _shared_people(faces: Path) -> dict[str, list[Path]]:
    """The shared photos by person: ``lfw/<Name>`` and ``orl/sN`` (names without the set)."""
    from linli.biometrics.evaluation import IMAGE_SUFFIXES, people_folders

    found: dict[str, list[Path]] = {}
    for dataset in ("lfw", "orl"):
        for name, paths in people_folders(faces / dataset, IMAGE_SUFFIXES).items():
            found[name] = sorted(paths, key=lambda p: (len(p.stem), p.stem))
    return found


def _resident_id(i: int) -> str:
    """A valid resident ID number, unique for i < 1,000,000 (1,000 a birth date)."""
    born = dt.date(1950, 1, 1) + dt.timedelta(days=i // 1000)
    body = f"110105{born:%Y%m%d}{i % 1000:03d}"
    total = sum(int(d) * (2 ** (17 - k) % 11) for k, d in enumerate(body))
    check = (12 - total % 11) % 11
    return body + ("X" if check == 10 else str(check))


def door_prepare(home: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Seed the community, its gate, and a face template for every resident; write the
    probe photos (JPEG) and the list of who each shows."""
    _setup()
    import numpy as np
    from django.core.management import call_command
    from PIL import Image

    from linli.access import actions, manage
    from linli.access.choices import Effect, GroupKind, Modality, PointKind
    from linli.access.models import AccessRight
    from linli.biometrics import templates
    from linli.biometrics.engines import BiometricRefused
    from linli.core.tenancy import Actor
    from linli.devices.actions import do_register_device
    from linli.people.models import Person
    from linli.seed import seed_community

    call_command("migrate", interactive=False, verbosity=0)
    system = Actor.system("bench")
    started = time.perf_counter()
    seeded = seed_community(residents=spec["gallery"], seed=1, code=COMMUNITY)
    community = seeded.community
    device, _secret = do_register_device(
        system,
        community,
        kind="face_terminal",
        code="bench-face-1",
        name="人脸门禁",
        serial="BENCH-FACE-1",
    )
    point = manage.do_create_access_point(
        system,
        community,
        code="gate-face",
        name="南门人脸",
        kind=PointKind.COMMUNITY_GATE,
        device_ids=[device.pk],
    )
    group = manage.do_create_group(system, community, name="全体住户", kind=GroupKind.RESIDENTS)
    manage.do_create_policy(
        system,
        community,
        name="住户刷脸",
        effect=Effect.ALLOW,
        group_id=group.pk,
        point_ids=[point.pk],
    )
    allowed = sorted(
        set(
            AccessRight.objects.filter(point=point, effect=Effect.ALLOW).values_list(
                "person_id", flat=True
            )
        )
    )
    residents = list(Person.objects.in_community(community.pk).order_by("pk"))
    seeded_seconds = time.perf_counter() - started

    today = dt.date.today()  # noqa: DTZ011 (a calendar date, as the consent rules use)

    consented: set[int] = set()

    def consent(person: Any) -> None:
        if person.pk in consented:
            return
        consented.add(person.pk)
        born = person.birth_date
        minor = born is not None and (today.year - born.year) <= 14
        actions.do_record_consent(
            system,
            person,
            community.pk,
            modality=Modality.FACE,
            text_version="v1",
            channel="paper",
            guardian_name="监护人" if minor else "",  # under 14: the guardian consents
        )

    # Real templates: each shared person (but the strangers) enrolled from 3 photos, as
    # the enrolment API does; the rest of their photos are probes.
    people = _shared_people(Path(spec["faces"]))
    may_pass = set(allowed)
    holders = iter(p for p in residents if p.pk in may_pass)
    probes_dir = home / "probes"
    probes_dir.mkdir()
    probes: list[dict[str, Any]] = []
    real: dict[int, str] = {}
    refused_enrolments: dict[str, str] = {}
    vectors = []
    for name, paths in people.items():
        jpegs = [
            _jpeg(Image.open(p).convert("RGB")) if p.suffix != ".jpg" else p.read_bytes()
            for p in paths
        ]
        person_id: int | None = None
        if name not in STRANGERS:
            person = next(holders)
            consent(person)
            try:
                template = templates.do_enrol_face(
                    system, person, community.pk, jpegs[:ENROL_PHOTOS]
                )
            except BiometricRefused as refused:
                refused_enrolments[name] = refused.code
            else:
                person_id = person.pk
                real[person.pk] = name
                vectors.append(templates.open_vector(template.embedding_sealed, 128))
            jpegs = jpegs[ENROL_PHOTOS:]
        for n, data in enumerate(jpegs):
            path = probes_dir / f"{name}-{n}.jpg"
            path.write_bytes(data)
            framed = probes_dir / f"{name}-{n}-frame.jpg"
            framed.write_bytes(_jpeg(_framed(Image.open(io.BytesIO(data)).convert("RGB"))))
            probes.append(
                {"file": str(path), "frame": str(framed), "person_id": person_id, "who": name}
            )
    # Synthetic templates for everyone else: drawn around the real ones (each number from
    # a normal distribution with the real templates' mean and spread), so the gallery has
    # its full size and realistic distances to the probes.
    real_matrix = np.stack(vectors)
    mean, spread = real_matrix.mean(axis=0), real_matrix.std(axis=0)
    rng = np.random.default_rng(1)
    synthetic = 0
    for person in residents:
        if person.pk in real:
            continue
        consent(person)
        vector = (mean + spread * rng.standard_normal(128)).astype(np.float32)
        templates.store_face(system, person, community.pk, vector, {"synthetic": True}, 1)
        synthetic += 1
    return {
        "community_id": community.pk,
        "point_id": point.pk,
        "device_id": device.pk,
        "seeded": seeded.describe(),
        "seed_seconds": round(seeded_seconds, 1),
        "prepare_seconds": round(time.perf_counter() - started, 1),
        "templates_real": len(real),
        "templates_synthetic": synthetic,
        "refused_enrolments": refused_enrolments,
        "probes": probes,
    }


def _framed(image: Any) -> Any:
    """The photo as a door terminal's 640 × 480 frame would hold it: the face twice as
    large, on a blurred enlargement of the photo itself (the detector then scans the whole
    frame without upsampling, as it does on a terminal's frames)."""
    from PIL import Image, ImageFilter

    face = image.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)
    frame = image.resize((640, 480), Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(12))
    frame.paste(face, ((640 - face.width) // 2, (480 - face.height) // 2))
    return frame


DOOR_CASES = (
    ("baseline", "crop"),
    ("decide_face", "crop"),
    ("baseline", "frame"),
    ("decide_face", "frame"),
)


def door(home: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``decide_face`` on each probe, and detect + embed alone on the same photos;
    the shared photos as they are (crops), then in 640 × 480 frames."""
    _setup()
    from collections import Counter

    from django.db import connection

    from linli.access.models import AccessEvent, AccessPoint
    from linli.biometrics import doors, face, images
    from linli.biometrics.engines import BiometricRefused

    prepared = json.loads((home / "door.json").read_text())
    point = AccessPoint.objects.get(pk=prepared["point_id"])
    device_id = prepared["device_id"]
    chosen = random.Random(1).sample(
        prepared["probes"], min(spec["decisions"], len(prepared["probes"]))
    )
    photos = {
        form: [(Path(p[key]).read_bytes(), p["person_id"]) for p in chosen]
        for form, key in (("crop", "file"), ("frame", "frame"))
    }
    engine = face.engine()
    decoded = {
        form: [images.decode(data).pixels for data, _who in items] for form, items in photos.items()
    }

    # The first decision loads the models and unseals the gallery: timed on its own.
    started = time.perf_counter()
    engine.detect(decoded["crop"][0])
    models_s = time.perf_counter() - started
    started = time.perf_counter()
    doors.identify(point.community_id, photos["crop"][0][0])
    first_s = time.perf_counter() - started
    statements: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(" ".join(sql.split())[:300])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        doors.decide_face(point, photos["crop"][0][0], device_id=device_id)

    def baseline(form: str) -> list[float]:
        times = []
        for pixels in decoded[form]:
            began = time.perf_counter()
            faces = engine.detect(pixels)
            if faces:
                engine.embed(pixels, faces[0])
            times.append(time.perf_counter() - began)
        return times

    outcomes: dict[str, Counter[str]] = {"crop": Counter(), "frame": Counter()}

    def decisions(form: str) -> list[float]:
        times = []
        for data, expected in photos[form]:
            began = time.perf_counter()
            try:
                decided = doors.decide_face(point, data, device_id=device_id)
            except BiometricRefused as refused:
                times.append(time.perf_counter() - began)
                outcomes[form][f"refused: {refused.code}"] += 1
                continue
            times.append(time.perf_counter() - began)
            found = decided.match.person_id
            if found is None:
                outcome = "unknown (enrolled)" if expected else "unknown (stranger)"
            elif found != expected:
                outcome = "WRONG PERSON"
            else:
                outcome = f"{'allowed' if decided.decision.allowed else 'denied'} (right person)"
            outcomes[form][outcome] += 1
        return times

    steps = {"baseline": baseline, "decide_face": decisions}
    runs: list[dict[str, Any]] = []
    for rep in range(spec["repeat"]):
        order = DOOR_CASES[rep % len(DOOR_CASES) :] + DOOR_CASES[: rep % len(DOOR_CASES)]
        runs.append({f"{name} {form}": _summary(steps[name](form)) for name, form in order})
    keys = ("p50_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms")
    names = [f"{name} {form}" for name, form in DOOR_CASES]
    return {
        "photos": len(chosen),
        "probe_sizes": {
            form: sorted({f"{p.shape[1]}x{p.shape[0]}" for p in items})
            for form, items in decoded.items()
        },
        "models_load_ms": round(models_s * 1000, 1),
        "first_search_with_gallery_load_ms": round(first_s * 1000, 1),
        "queries_per_decision": len(statements),
        "sql": statements,
        "runs": runs,
        "median": {name: report.medians([r[name] for r in runs], keys) for name in names},
        "outcomes_all_reps": {form: dict(c) for form, c in outcomes.items()},
        "events_logged": AccessEvent.objects.count(),
    }


def proposed_search(
    matrix: Any, norms: Any, persons: Any, probe: Any, threshold: float, margin: float
) -> tuple[int | None, float, float | None]:
    """The search with the rows' squared norms computed once per gallery (not per probe):
    one BLAS pass over the matrix, two ``argmin`` over the scores, square roots of two
    numbers. Returns (row or None, distance, runner-up)."""
    import numpy as np

    scores = matrix @ probe
    scores *= -2.0
    scores += norms  # ‖g‖² − 2 g·q; ‖q‖² is the same for every row
    best = int(np.argmin(scores))
    lifted = float(probe @ probe)
    best_distance = float(np.sqrt(max(float(scores[best]) + lifted, 0.0)))
    runner_up = None
    if scores.size > 1:
        scores[best] = np.inf
        second = int(np.argmin(scores))
        if persons[second] == persons[best]:  # another template of the same person
            scores[persons == persons[best]] = np.inf
            second = int(np.argmin(scores))
        if np.isfinite(scores[second]):
            runner_up = float(np.sqrt(max(float(scores[second]) + lifted, 0.0)))
    known = best_distance <= threshold and (
        runner_up is None or runner_up - best_distance >= margin
    )
    return (best if known else None), best_distance, runner_up


def search_step(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``search`` against ``G @ q`` (and the proposal) on galleries of each size."""
    _setup()
    import numpy as np

    sizes = {str(size): _search_size(size, spec) for size in spec["sizes"]}
    return {"numpy": np.__version__, "sizes": sizes}


def _search_size(size: int, spec: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    from linli.biometrics import face
    from linli.biometrics.search import Gallery, search

    rng = np.random.default_rng(size)
    # dlib's embeddings: each number about ±0.09 around small means; norms about 1.
    matrix = rng.normal(0.0, 0.09, (size, 128)).astype(np.float32)
    persons = np.arange(1, size + 1, dtype=np.int64)
    gallery = Gallery(1, "face", "bench", "euclidean", 1, persons, persons + 10, matrix)
    norms = np.einsum("ij,ij->i", matrix, matrix)
    rows = rng.integers(0, size, spec["searches"])
    probes = [(matrix[r] + rng.normal(0.0, 0.02, 128)).astype(np.float32) for r in rows]

    def matvec(q: Any) -> Any:
        return matrix @ q

    def product(q: Any) -> Any:
        return search(gallery, q, threshold=face.DOOR_THRESHOLD, margin=face.DOOR_MARGIN)

    def proposal(q: Any) -> Any:
        return proposed_search(matrix, norms, persons, q, face.DOOR_THRESHOLD, face.DOOR_MARGIN)

    # Both searches must give the same answers before either is timed.
    agree = 0
    for q in probes[:20]:
        mine, theirs = proposal(q), product(q)
        same_row = (None if theirs.person_id is None else theirs.person_id - 1) == mine[0]
        agree += int(same_row and abs(mine[1] - (theirs.distance or 0.0)) < 1e-3)
    cases = {
        "G @ q (baseline)": matvec,
        "search.search": product,
        "precomputed norms": proposal,
    }
    for q in probes[:5]:  # warm up: page the matrix in, start BLAS's threads
        for case in cases.values():
            case(q)
    runs: list[dict[str, Any]] = []
    for rep in range(spec["repeat"]):
        names = list(cases)
        names = names[rep % len(names) :] + names[: rep % len(names)]
        timed: dict[str, Any] = {}
        for name in names:
            times = []
            for q in probes:
                began = time.perf_counter()
                cases[name](q)
                times.append(time.perf_counter() - began)
            timed[name] = _summary(times)
        runs.append(timed)
    keys = ("p50_ms", "p95_ms", "p99_ms", "mean_ms")
    return {
        "matrix_mb": round(matrix.nbytes / 1e6, 1),
        "answers_agree": f"{agree}/20",
        "runs": runs,
        "median": {name: report.medians([r[name] for r in runs], keys) for name in cases},
    }


def _variant(image: Any, i: int) -> Any:
    """A second capture of a photo: mirrored every other round, cropped by up to 6 % a
    side, relit by up to ±10 %, with sensor-like noise."""
    import numpy as np
    from PIL import Image, ImageEnhance

    rng = random.Random(i)
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    w, h = image.size
    box = (
        round(w * rng.uniform(0, 0.06)),
        round(h * rng.uniform(0, 0.06)),
        w - round(w * rng.uniform(0, 0.06)),
        h - round(h * rng.uniform(0, 0.06)),
    )
    image = ImageEnhance.Brightness(image.crop(box)).enhance(rng.uniform(0.9, 1.1))
    noise = np.random.default_rng(i).normal(0, 4, (image.height, image.width, 3))
    pixels = np.clip(np.asarray(image, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def enrol_prepare(home: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Register the people (with consent) and write their photos: the batch and the two
    baseline samples, each a folder of ``<ID number>.jpg``."""
    _setup()
    from django.core.management import call_command
    from PIL import Image

    from linli.access import actions
    from linli.access.choices import Modality
    from linli.core.tenancy import Actor
    from linli.people.actions import NewPerson, do_register_people
    from linli.people.choices import IdType
    from linli.places.actions import do_create_community

    call_command("migrate", interactive=False, verbosity=0)
    system = Actor.system("bench")
    community = do_create_community(system, name="批量录入社区", code=COMMUNITY)
    sources = [p for paths in _shared_people(Path(spec["faces"])).values() for p in paths]
    # Shuffled once, so every stretch of a folder mixes the two sets (LFW's colour crops
    # take longer to embed than ORL's smaller grey ones), and every folder the same mix.
    random.Random(7).shuffle(sources)
    bases = [Image.open(p).convert("RGB") for p in sources]
    folders = {"batch": spec["photos"], "inproc": spec["sample"], "one_worker": spec["sample"]}
    started = time.perf_counter()
    i = 0
    written = 0
    for folder, count in folders.items():
        target = home / folder
        target.mkdir()
        numbers = [_resident_id(i + k) for k in range(count)]
        for start in range(0, count, 500):
            chunk = numbers[start : start + 500]
            entries = [
                NewPerson(name=f"住户{i + start + k}", id_type=IdType.RESIDENT_ID, number=n)
                for k, n in enumerate(chunk)
            ]
            for person in do_register_people(system, community, entries):
                actions.do_record_consent(
                    system,
                    person,
                    community.pk,
                    modality=Modality.FACE,
                    text_version="v1",
                    channel="paper",
                )
        for k, number in enumerate(numbers):
            # A folder smaller than the set takes evenly spaced photos of it.
            base = (k * len(bases)) // count if count < len(bases) else k % len(bases)
            image = _variant(bases[base], i + k)
            data = _jpeg(image, quality=88 + (i + k) % 8)
            (target / f"{number}.jpg").write_bytes(data)
            written += len(data)
        i += count
    return {
        "community_id": community.pk,
        "source_photos": len(sources),
        "people": i,
        "photo_bytes": written,
        "prepare_seconds": round(time.perf_counter() - started, 1),
    }


def enrol(home: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Enrol one folder with ``spec["workers"]`` workers (the progress bar on stderr),
    noting every 10 s the templates stored and the machine's load."""
    _setup()
    import threading

    from django.db import connection

    from linli.biometrics import batch
    from linli.biometrics.models import Template
    from linli.core.tenancy import Actor

    timeline: list[tuple[float, int, float]] = []
    done = threading.Event()

    def sample() -> None:
        began = time.perf_counter()
        try:
            while not done.wait(10.0):
                stored = Template.objects.count()
                timeline.append((round(time.perf_counter() - began, 1), stored, os.getloadavg()[0]))
        finally:
            connection.close()  # this thread's own connection

    sampler = threading.Thread(target=sample, daemon=True)
    before = _cpu()
    sampler.start()
    try:
        result = batch.enrol_folder(
            Actor.system("bench"),
            spec["community_id"],
            home / spec["folder"],
            workers=spec["workers"],
            progress=True,
        )
    finally:
        done.set()
        sampler.join()
    after = _cpu()
    return {
        "folder": spec["folder"],
        "workers": spec["workers"],
        "photos": result.photos,
        "seconds": round(result.seconds, 2),
        "photos_per_second": round(result.photos / result.seconds, 2),
        "best_minute_enrolled_per_second": _best_minute(timeline),
        "counts": dict(result.counts()),
        "restarts": result.restarts,
        "cpu_parent_s": round(after["self"] - before["self"], 1),
        "cpu_workers_s": round(after["children"] - before["children"], 1),
        "peak_mb_parent": round(after["peak_mb"], 0),
        "timeline_s_templates_load": timeline,
    }


def _best_minute(timeline: list[tuple[float, int, float]]) -> float | None:
    """The most templates stored per second over any 60 s of the timeline."""
    best = None
    for i, (start, stored, _load) in enumerate(timeline):
        for end, later, _later_load in timeline[i + 1 :]:
            if end - start >= 60:
                rate = (later - stored) / (end - start)
                best = rate if best is None else max(best, rate)
                break
    return None if best is None else round(best, 2)


def child(argv: list[str]) -> None:
    """Run one step in this process and print its JSON result after :data:`MARKER`."""
    step, home, spec = argv[0], Path(argv[1]), json.loads(argv[2])
    steps = {
        "door-prepare": lambda: door_prepare(home, spec),
        "door": lambda: door(home, spec),
        "search": lambda: search_step(spec),
        "enrol-prepare": lambda: enrol_prepare(home, spec),
        "enrol": lambda: enrol(home, spec),
    }
    load_before = os.getloadavg()
    result = steps[step]()
    result["load_average"] = {"before": load_before, "after": os.getloadavg()}
    print(MARKER + json.dumps(result, ensure_ascii=False))


# -- harness side -----------------------------------------------------------------------


def _step(
    step: str,
    home: Path,
    spec: dict[str, Any],
    env: dict[str, str],
    log: Path,
    *,
    show_progress: bool = False,
) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.benchmarks.biometrics", step, str(home), json.dumps(spec)]
    with log.open("ab") as out:
        done = subprocess.run(
            argv,
            env=env,
            cwd=runner.REPO_DIR,
            stdout=subprocess.PIPE,
            stderr=None if show_progress else out,
            check=False,
            timeout=4 * 3600,
        )
    lines = [ln for ln in done.stdout.decode().splitlines() if ln.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"step {step} failed ({done.returncode}); log:\n{tail}")
    result: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
    return result


def run_door(kind: str, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    """Prepare a scratch database of ``kind`` with the door's gallery; time the decisions."""
    with tempfile.TemporaryDirectory(prefix="linli-bench-face-door-") as tmp:
        home = Path(tmp)
        log = log_dir / f"door-{kind}.log"
        with databases.scratch(kind, home, pg_url=args.pg_url, name="bench_face_door") as db:
            env = runner.linli_env(home, db.env, settings="linli.settings")
            spec = {"gallery": args.gallery, "faces": str(args.faces)}
            prepared = _step("door-prepare", home, spec, env, log)
            (home / "door.json").write_text(json.dumps(prepared))
            timed = _step(
                "door", home, {"decisions": args.decisions, "repeat": args.repeat}, env, log
            )
        prepared.pop("probes")
        return {"database": db.label, "prepared": prepared, **timed}


def run_search(args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    """Time the 1:N searches (no database is touched)."""
    with tempfile.TemporaryDirectory(prefix="linli-bench-face-search-") as tmp:
        home = Path(tmp)
        env = runner.linli_env(home, settings="linli.settings")
        sizes = [int(s) for s in args.sizes.split(",") if s]
        spec = {"sizes": sizes, "searches": args.searches, "repeat": args.repeat}
        return _step("search", home, spec, env, log_dir / "search.log")


def run_enrol(kind: str, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    """Seed the people and photos; enrol the two samples, then the batch."""
    with tempfile.TemporaryDirectory(prefix="linli-bench-face-enrol-") as tmp:
        home = Path(tmp)
        log = log_dir / f"enrol-{kind}.log"
        with databases.scratch(kind, home, pg_url=args.pg_url, name="bench_face_enrol") as db:
            env = runner.linli_env(home, db.env, settings="linli.settings")
            spec = {"photos": args.photos, "sample": args.sample, "faces": str(args.faces)}
            prepared = _step("enrol-prepare", home, spec, env, log)
            runs = {}
            for folder, workers in (("inproc", 0), ("one_worker", 1), ("batch", args.workers)):
                print(f"enrol {folder}: workers={workers}", file=sys.stderr, flush=True)
                spec = {
                    "community_id": prepared["community_id"],
                    "folder": folder,
                    "workers": workers,
                }
                runs[folder] = _step("enrol", home, spec, env, log, show_progress=True)
        return {"database": db.label, "prepared": prepared, "runs": runs}


def door_passed(result: dict[str, Any]) -> bool:
    """Tell whether the decision's p95 is within the target, on crops and frames alike,
    and nobody was taken for someone else."""
    return all(
        result["median"][f"decide_face {form}"]["p95_ms"] <= TARGET_DOOR_P95_MS
        and "WRONG PERSON" not in result["outcomes_all_reps"][form]
        for form in ("crop", "frame")
    )


def render_door(kind: str, result: dict[str, Any]) -> str:
    """The door's table."""
    labels = {"crop": "shared photos as they are", "frame": "in 640×480 frames"}
    rows = []
    for name, form in DOOR_CASES:
        m = result["median"][f"{name} {form}"]
        base = result["median"][f"baseline {form}"]
        label = "detect + embed (baseline)" if name == "baseline" else "decide_face"
        rows.append(
            [f"{label}, {labels[form]}"]
            + [report.fmt_number(m[k], 1) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")]
            + [
                report.fmt_number(report.ratio(m["p50_ms"], base["p50_ms"]), 2),
                report.fmt_number(report.ratio(m["p95_ms"], base["p95_ms"]), 2),
            ]
        )
    table = report.format_table(
        ["case", "p50 ms", "p95 ms", "p99 ms", "max ms", "p50 ×", "p95 ×"], rows
    )
    prepared = result["prepared"]
    verdict = "PASS" if door_passed(result) else "FAIL"
    outcomes = "\n".join(
        f"outcomes, {labels[form]}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
        for form, c in result["outcomes_all_reps"].items()
    )
    return (
        f"door ({kind}: {result['database']}): gallery {prepared['templates_real']} real + "
        f"{prepared['templates_synthetic']:,} synthetic templates; {result['photos']} probe "
        f"photos × {len(result['runs'])} reps; {result['queries_per_decision']} SQL per "
        f"decision; first search (gallery load) {result['first_search_with_gallery_load_ms']}"
        f" ms; load {_load(result)}\n{table}\n{outcomes}\n"
        f"target decide_face p95 ≤ {TARGET_DOOR_P95_MS:g} ms, nobody taken for someone else:"
        f" {verdict}"
    )


def _load(result: dict[str, Any]) -> str:
    before, after = result["load_average"]["before"][0], result["load_average"]["after"][0]
    return f"{before:.1f} → {after:.1f}"


def render_search(result: dict[str, Any]) -> str:
    """The search table."""
    rows = []
    for size, case in result["sizes"].items():
        base = case["median"]["G @ q (baseline)"]
        for name, m in case["median"].items():
            rows.append(
                [f"{int(size):,} × 128  {name}"]
                + [report.fmt_number(m[k], 2) for k in ("p50_ms", "p95_ms", "p99_ms")]
                + [
                    report.fmt_number(report.ratio(m["p50_ms"], base["p50_ms"]), 2),
                    report.fmt_number(case["matrix_mb"] / 1000 / (m["p50_ms"] / 1000), 1),
                ]
            )
    table = report.format_table(
        ["gallery  case", "p50 ms", "p95 ms", "p99 ms", "p50 ×", "GB/s"], rows
    )
    agree = ", ".join(f"{int(s):,}: {c['answers_agree']}" for s, c in result["sizes"].items())
    return (
        f"search (exact 1:N, float32; load {_load(result)}):\n{table}\n"
        f"proposal gives the same answers: {agree}"
    )


def render_enrol(kind: str, result: dict[str, Any]) -> str:
    """The enrolment table."""
    runs = result["runs"]
    base = runs["inproc"]["photos_per_second"]
    labels = {
        "inproc": "in this process, workers=0 (baseline)",
        "one_worker": "1 worker process",
        "batch": f"{runs['batch']['workers']} worker processes",
    }
    rows = []
    for name, run in runs.items():
        enrolled = run["counts"].get("enrolled", 0)
        rows.append(
            [
                labels[name],
                f"{run['photos']:,}",
                report.fmt_number(run["seconds"], 1),
                report.fmt_number(run["photos_per_second"], 2),
                report.fmt_number(report.ratio(run["photos_per_second"], base), 2),
                f"{enrolled:,}",
                f"{run['photos'] - enrolled:,}",
                report.fmt_number(run["best_minute_enrolled_per_second"], 1),
                report.fmt_number(run["cpu_parent_s"], 0),
                report.fmt_number(run["cpu_workers_s"], 0),
                _load(run),
            ]
        )
    headers = ["run", "photos", "s", "photos/s", "×", "enrolled", "not", "best 60 s/s"]
    headers += ["CPU parent s", "CPU workers s", "load"]
    table = report.format_table(headers, rows)
    refused = runs["batch"]["counts"]
    return f"enrol ({kind}: {result['database']}):\n{table}\nbatch outcomes: {refused}"


@register(
    "biometrics",
    "face door decisions, exact 1:N search at 100k/1M, batch face enrolment on two cores",
    configure,
)
def run(args: argparse.Namespace) -> int:
    """Run the chosen parts; print and save the figures."""
    if args.quick:
        args.gallery = min(args.gallery, 300)
        args.decisions = min(args.decisions, 60)
        args.repeat = 1
        if "--sizes" not in sys.argv:
            args.sizes = "100000"
        args.searches = min(args.searches, 50)
        args.photos = min(args.photos, 500)
        args.sample = min(args.sample, 100)
    if not args.faces.is_dir():
        print(f"the shared face photos are not at {args.faces} (--faces)", file=sys.stderr)
        return 2
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        print(f"unknown parts: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    started = report.utc_now()
    results: dict[str, Any] = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="linli-bench-face-logs-") as logs:
        log_dir = Path(logs)
        try:
            if "search" in parts:
                results["search"] = run_search(args, log_dir)
                print(render_search(results["search"]), flush=True)
            if "door" in parts:
                results["door"] = {}
                for kind in databases.kinds(args.db):
                    results["door"][kind] = run_door(kind, args, log_dir)
                    print(render_door(kind, results["door"][kind]), flush=True)
                    failed |= not door_passed(results["door"][kind])
            if "enrol" in parts:
                results["enrol"] = {}
                for kind in databases.kinds(args.db):
                    results["enrol"][kind] = run_enrol(kind, args, log_dir)
                    print(render_enrol(kind, results["enrol"][kind]), flush=True)
        except RuntimeError:
            for log in log_dir.glob("*.log"):
                args.results_dir.mkdir(parents=True, exist_ok=True)
                (args.results_dir / f"biometrics-failed-{log.name}").write_bytes(log.read_bytes())
            raise
    settings = {
        k: getattr(args, k)
        for k in (
            "gallery",
            "decisions",
            "repeat",
            "sizes",
            "searches",
            "photos",
            "sample",
            "workers",
            "quick",
        )
    }
    path = report.write_results(
        "biometrics",
        {"settings": settings, "targets": {"door_p95_ms": TARGET_DOOR_P95_MS}, **results},
        started_at=started,
        directory=args.results_dir,
    )
    print(f"results: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        child(sys.argv[1:])

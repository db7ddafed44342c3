"""Batch face enrolment (批量人脸录入): a property company's folder of residents' photos.

Each photo is named after its person: ``<ID number>.jpg`` (the 18-character resident ID
number, 居民身份证号码) or ``<person id>.jpg``; a sub-folder of the same name holds
several photos of one person (at most :data:`templates.MAX_PHOTOS`; their embeddings are
averaged, as the enrolment API does). ID numbers are matched by the keyed lookup hash the
people app keeps (``Person.id_number_hash``), never by reading sealed numbers, and only
among the people the community knows.

Nobody's face is processed without their consent: people without an active face consent
are reported ``no_consent`` before any photo of them is opened, and the consent is checked
again when the template is stored (:func:`templates.store_face`). The embeddings are
computed in worker processes, one per core; the templates are stored here, one
transaction per person, so a refused photo, a person who left, or a worker that dies
leaves nothing half-written and never stops the batch.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from django.db import transaction
from django.utils.translation import gettext as _
from tqdm import tqdm

from linli.access.choices import Modality
from linli.biometrics import images
from linli.biometrics.engines import BiometricRefused, Vector
from linli.biometrics.evaluation import IMAGE_SUFFIXES
from linli.core import crypto, errors
from linli.core.tenancy import Actor
from linli.people import identity
from linli.people.choices import IdType

if TYPE_CHECKING:
    from linli.people.models import Person

# This module is imported by the worker processes before Django is set up (to find the
# initializer that sets it up), so the modules that define models are imported where
# they are used.

ENROLLED = "enrolled"
UNKNOWN_PERSON = "unknown_person"
NO_CONSENT = "no_consent"
# A photo that made the face engine's process die (native crash, out of memory).
ENGINE_FAILED = "engine_failed"
_NOT_REFUSALS = (ENROLLED, UNKNOWN_PERSON, NO_CONSENT)

_RESIDENT_ID = re.compile(r"^[0-9]{17}[0-9Xx]$")
_LOOKUP_CHUNK = 500  # keeps each IN (...) well under SQLite's bound-parameter limit
# Each worker holds a few photos' work ahead so it never waits for the parent, yet a
# worker that dies takes few entries with it.
_AHEAD_PER_WORKER = 3
# Worker pools in a row that die before finishing a single photo: not a photo's fault.
_FRUITLESS_POOLS = 3


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one person's photos: ``result`` is ``enrolled``, ``unknown_person``,
    ``no_consent``, or the code of the refusal (``no_face``, ``too_blurred`` …);
    ``problem`` names the photos a refusal is about (all of them when it is not one)."""

    name: str  # the file's stem or the sub-folder's name, as given
    files: tuple[str, ...]  # relative to the folder
    result: str
    problem: tuple[str, ...] = ()
    message: str = ""
    person_id: int | None = None


@dataclasses.dataclass
class BatchReport:
    """The outcome of every person in a batch, and what was not a photo."""

    outcomes: list[Outcome] = dataclasses.field(default_factory=list)
    ignored: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0
    restarts: int = 0  # worker processes that died (their photos were retried)

    @property
    def photos(self) -> int:
        """How many photos the batch held."""
        return sum(len(o.files) for o in self.outcomes)

    @property
    def enrolled(self) -> list[str]:
        """The photos templates were made from."""
        return [f for o in self.outcomes if o.result == ENROLLED for f in o.files]

    @property
    def unknown(self) -> list[str]:
        """Photos whose name is no person of the community."""
        return [f for o in self.outcomes if o.result == UNKNOWN_PERSON for f in o.files]

    @property
    def no_consent(self) -> list[str]:
        """Photos of people without an active face consent (not opened)."""
        return [f for o in self.outcomes if o.result == NO_CONSENT for f in o.files]

    @property
    def refused(self) -> dict[str, list[str]]:
        """The photos refused, by code."""
        found: dict[str, list[str]] = {}
        for o in self.outcomes:
            if o.result not in _NOT_REFUSALS:
                found.setdefault(o.result, []).extend(o.problem or o.files)
        return found

    def counts(self) -> Counter[str]:
        """People by result (``enrolled``, ``unknown_person``, ``no_consent``, each
        refusal code)."""
        return Counter(o.result for o in self.outcomes)

    def describe(self) -> list[str]:
        """Lines for a terminal: the counts, then each photo that was not enrolled and why
        (ID numbers in file names masked, as everywhere outside an audited reveal)."""
        counts = self.counts()
        refusals = {c: n for c, n in counts.items() if c not in _NOT_REFUSALS}
        rate = self.photos / self.seconds if self.seconds else 0.0
        lines = [
            f"{len(self.outcomes)} people, {self.photos} photos in {self.seconds:.1f} s "
            f"({rate:.1f} photos/s, {self.workers or 'no'} worker processes)",
            f"enrolled: {counts[ENROLLED]}",
            f"refused: {sum(refusals.values())}"
            + "".join(f", {code} {n}" for code, n in sorted(refusals.items())),
            f"unknown person: {counts[UNKNOWN_PERSON]}",
            f"no consent: {counts[NO_CONSENT]}",
        ]
        if self.ignored:
            lines.append(f"ignored (not photos): {len(self.ignored)}")
        if self.restarts:
            lines.append(f"worker processes lost (their photos retried): {self.restarts}")
        problems = sorted(
            (o.result, name, o.message)
            for o in self.outcomes
            if o.result != ENROLLED
            for name in o.problem or o.files
        )
        lines += [f"{code}\t{masked(name)}\t{message}".rstrip() for code, name, message in problems]
        return lines


def masked(name: str) -> str:
    """``name`` with any resident ID number in it masked (``1101**********1234.jpg``)."""
    return re.sub(r"[0-9]{17}[0-9Xx]", lambda m: identity.mask_id(m.group(0)), name)


# -- the photos ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Entry:
    """One person's photos (resolved to ``person`` when the name is someone's)."""

    name: str
    paths: list[Path]
    files: list[str]
    person: Person | None = None


def _scan(folder: Path) -> tuple[list[_Entry], list[str]]:
    """The photos at the top of ``folder`` and in its sub-folders, by name; and what is
    not a photo."""
    entries: list[_Entry] = []
    ignored: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            photos = []
            for inner in sorted(path.iterdir()):
                if inner.is_file() and inner.suffix.lower() in IMAGE_SUFFIXES:
                    photos.append(inner)
                elif not inner.name.startswith("."):
                    ignored.append(str(inner.relative_to(folder)))
            if photos:
                files = [str(p.relative_to(folder)) for p in photos]
                entries.append(_Entry(path.name, photos, files))
        elif path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            entries.append(_Entry(path.stem, [path], [path.name]))
        else:
            ignored.append(path.name)
    return entries, ignored


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _LOOKUP_CHUNK):
        yield items[start : start + _LOOKUP_CHUNK]


def _resolve(community_id: int, entries: list[_Entry]) -> None:
    """Set each entry's person: by the keyed hash of a resident ID number, or by person id;
    only people the community knows (a name it does not know stays unresolved)."""
    from linli.people.models import Person

    by_hash: dict[str, list[_Entry]] = {}
    by_pk: dict[int, list[_Entry]] = {}
    for entry in entries:
        if _RESIDENT_ID.match(entry.name):
            try:
                number = identity.parse_resident_id(entry.name).number
            except errors.ValidationFailed:
                continue  # not a valid ID number: nobody's
            lookup = crypto.lookup_hash(f"{IdType.RESIDENT_ID}:{number}", identity.ID_PURPOSE)
            by_hash.setdefault(lookup, []).append(entry)
        elif entry.name.isascii() and entry.name.isdigit() and len(entry.name) < 18:
            by_pk.setdefault(int(entry.name), []).append(entry)
    people = Person.objects.in_community(community_id)
    hashes = list(by_hash)
    for chunk in _chunks(hashes):
        for person in people.filter(id_type=IdType.RESIDENT_ID, id_number_hash__in=chunk):
            for entry in by_hash[person.id_number_hash]:
                entry.person = person
    for chunk in _chunks(list(by_pk)):
        for person in people.filter(pk__in=chunk):
            for entry in by_pk[person.pk]:
                entry.person = person


def _consenting(community_id: int, person_ids: Sequence[int]) -> set[int]:
    """The people with an active face consent in the community."""
    from linli.access.models import Consent

    found: set[int] = set()
    for chunk in _chunks(person_ids):
        found.update(
            Consent.objects.filter(
                community_id=community_id,
                modality=Modality.FACE,
                revoked_at__isnull=True,
                person_id__in=chunk,
            ).values_list("person_id", flat=True)
        )
    return found


# -- the worker processes -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Embedded:
    """A worker's answer for one person's photos: the embedding and each photo's quality,
    or the refusal (plain values: it crosses a process boundary)."""

    vector: Vector | None
    qualities: list[dict[str, float]]
    code: str = ""
    message: str = ""
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


def _start_worker(settings_module: str) -> None:
    """Set a worker up once: Django's settings (for translated messages; no database is
    opened) and the face models, loaded before the first photo arrives."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()
    from linli.biometrics import face

    face.engine().detect(np.zeros((8, 8, 3), dtype=np.uint8))


def embed_photos(paths: Sequence[str | Path]) -> Embedded:
    """Read, check and embed one person's photos (runs in a worker process)."""
    from linli.biometrics import templates

    photos: list[bytes] = []
    for index, path in enumerate(paths):
        try:
            size = Path(path).stat().st_size
            if size > images.MAX_BYTES:  # refused unread
                return Embedded(
                    None,
                    [],
                    "too_large",
                    str(_("图片过大。")),
                    {"photo": index, "bytes": size, "max_bytes": images.MAX_BYTES},
                )
            photos.append(Path(path).read_bytes())
        except OSError as exc:
            details = {"photo": index, "error": str(exc)[:200]}
            return Embedded(None, [], "unreadable", str(_("无法读取该文件。")), details)
    try:
        vector, qualities = templates.face_embedding(photos)
    except BiometricRefused as refused:
        return Embedded(None, [], refused.code, str(refused.message), dict(refused.details))
    except Exception as exc:  # the native code's own errors: one person refused, not the batch
        return Embedded(
            None, [], ENGINE_FAILED, str(_("人脸引擎无法处理该照片。")), {"error": repr(exc)[:200]}
        )
    return Embedded(vector, qualities)


def _pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes started with "spawn": each is a fresh interpreter that inherits
    nothing of this one. A forked worker would share this process's open database
    connection (the SQLite file's locks, PostgreSQL's socket: one side closing or using it
    breaks the other) and whatever locks its threads (tqdm's monitor, the BLAS pool, the
    log handlers) held at the fork. A spawned worker costs one interpreter start and one
    model load (about 2 s, in parallel), once per batch."""
    import multiprocessing

    from django.conf import settings

    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(str(settings.SETTINGS_MODULE),),
    )


def _embed_all(
    entries: list[_Entry], workers: int, handle: Callable[[_Entry, Embedded], None]
) -> int:
    """Embed each entry and hand it to ``handle`` here, as soon as it is done; return how
    many times a worker process died.

    ``workers == 0`` embeds in this process. A worker that dies breaks its pool; the
    entries that pool held are then retried one at a time in a fresh single-worker pool,
    so the photo that kills it is found and reported (``engine_failed``) and the rest
    go on. Pools that keep dying before finishing any photo mean the workers cannot run
    at all (a missing model, no memory): that stops the batch with an error.
    """
    if workers == 0:
        for entry in entries:
            handle(entry, embed_photos(entry.paths))
        return 0
    queue: deque[_Entry] = deque(entries)
    suspects: deque[_Entry] = deque()
    broken = fruitless = 0
    while queue or suspects:
        isolating = bool(suspects)
        source = suspects if isolating else queue
        ahead = 1 if isolating else workers * _AHEAD_PER_WORKER
        running: dict[Future[Embedded], _Entry] = {}
        finished = 0
        with _pool(1 if isolating else workers) as pool:
            try:
                while source or running:
                    while source and len(running) < ahead:
                        entry = source.popleft()
                        running[pool.submit(embed_photos, entry.paths)] = entry
                    done, _pending = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        answer = future.result()  # BrokenProcessPool when a worker died
                        handle(running.pop(future), answer)
                        finished += 1
            except BrokenProcessPool:
                broken += 1
                fruitless = 0 if finished else fruitless + 1
                if fruitless >= _FRUITLESS_POOLS:
                    raise RuntimeError(
                        f"the face engine's worker processes died {fruitless} times in a row "
                        "before finishing a photo"
                    ) from None
                lost = list(running.values())
                if isolating:  # one photo in flight, and it killed the worker
                    message = str(_("人脸引擎处理该照片时异常退出。"))
                    handle(lost[0], Embedded(None, [], ENGINE_FAILED, message))
                    lost = lost[1:]
                suspects.extend(lost)
    return broken


# -- the batch ------------------------------------------------------------------------------


def enrol_folder(
    actor: Actor,
    community_id: int,
    folder: Path | str,
    *,
    workers: int = 2,
    progress: bool = True,
) -> BatchReport:
    """Enrol the faces of a folder of photos named after the community's people (see the
    module's description); return what became of each person. ``workers`` processes
    compute the embeddings (0: this process)."""
    from linli.biometrics import templates
    from linli.core import audit

    if workers < 0:
        raise ValueError("workers must be 0 or more")
    actor.require("credential.manage", community_id)
    root = Path(folder)
    if not root.is_dir():
        raise errors.ValidationFailed(
            _("找不到照片文件夹。"), details={"folder": [str(root)]}, code="no_folder"
        )
    started = time.perf_counter()
    entries, ignored = _scan(root)
    _resolve(community_id, entries)
    consenting = _consenting(community_id, sorted({e.person.pk for e in entries if e.person}))
    report = BatchReport(ignored=ignored, workers=workers)
    bar = tqdm(
        total=sum(len(e.files) for e in entries),
        desc="faces",
        unit="photo",
        disable=not progress,
    )

    def finish(entry: _Entry, result: str, **more: Any) -> None:
        report.outcomes.append(Outcome(entry.name, tuple(entry.files), result, **more))
        bar.update(len(entry.files))

    # One person's photos go together, however they were named.
    people: dict[int, _Entry] = {}
    for entry in entries:
        if entry.person is None:
            finish(entry, UNKNOWN_PERSON, message=str(_("本社区没有此人员。")))
        elif entry.person.pk not in consenting:
            finish(
                entry,
                NO_CONSENT,
                message=str(_("本人尚未同意采集该生物特征。")),
                person_id=entry.person.pk,
            )
        elif entry.person.pk in people:
            first = people[entry.person.pk]
            first.paths += entry.paths
            first.files += entry.files
        else:
            people[entry.person.pk] = entry

    def store(entry: _Entry, answer: Embedded) -> None:
        person = cast("Person", entry.person)  # only resolved people are embedded
        if answer.vector is None:
            photo = answer.details.get("photo")
            pair = answer.details.get("photos")
            indexes = [photo] if isinstance(photo, int) else list(pair or [])
            problem = tuple(entry.files[i] for i in indexes if 0 <= i < len(entry.files))
            finish(entry, answer.code, problem=problem, message=answer.message, person_id=person.pk)
            return
        try:  # the photo, for a community that keeps enrolment photos
            kept: bytes | None = entry.paths[0].read_bytes()
        except OSError:
            kept = None
        try:
            # The consent check and the write in one transaction: a consent withdrawn
            # since the batch started is seen here, and nothing is stored then.
            with transaction.atomic():
                templates.store_face(
                    actor,
                    person,
                    community_id,
                    answer.vector,
                    {"photos": answer.qualities, "source": "batch"},
                    len(entry.files),
                    photo=kept,
                )
        except errors.NotFound:  # left the community since the batch started
            finish(entry, UNKNOWN_PERSON, message=str(_("本社区没有此人员。")))
            return
        except errors.LinliError as exc:  # no_consent, or a rule of the credentials
            finish(entry, exc.code, message=str(exc.message), person_id=person.pk)
            return
        finish(entry, ENROLLED, person_id=person.pk)

    try:
        report.restarts = _embed_all(list(people.values()), workers, store)
    finally:
        bar.close()
    report.seconds = time.perf_counter() - started
    counts = report.counts()
    audit.record(
        actor,
        "biometrics.batch.enrol",
        community_id=community_id,
        object_type="biometrics.batch",
        changes={code: [None, n] for code, n in sorted(counts.items())},
    )
    return report

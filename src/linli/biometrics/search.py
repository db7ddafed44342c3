"""Open-set 1:N search of a probe in a gallery held in memory (no database here)."""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from linli.biometrics.engines import Vector, distances


@dataclasses.dataclass(frozen=True)
class Gallery:
    """One community's templates of one modality, as of ``version``."""

    community_id: int
    modality: str
    engine: str
    metric: str
    version: int
    persons: npt.NDArray[np.int64]
    credentials: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.persons.size)


@dataclasses.dataclass(frozen=True)
class Match:
    """The result of a search: the person and credential when there is a match (else
    ``None``), the nearest distance, and the nearest other person's distance."""

    person_id: int | None
    credential_id: int | None
    distance: float | None
    runner_up: float | None

    @property
    def known(self) -> bool:
        return self.person_id is not None


def search(gallery: Gallery, probe: Vector, *, threshold: float, margin: float) -> Match:
    """Open-set search of ``probe`` in ``gallery``."""
    if len(gallery) == 0:
        return Match(None, None, None, None)
    found = distances(gallery.matrix, probe.astype(np.float32), gallery.metric)
    best = int(np.argmin(found))
    best_distance = float(found[best])
    others = found[gallery.persons != gallery.persons[best]]
    runner_up = float(others.min()) if others.size else None
    known = best_distance <= threshold and (
        runner_up is None or runner_up - best_distance >= margin
    )
    if not known:
        return Match(None, None, best_distance, runner_up)
    return Match(
        int(gallery.persons[best]), int(gallery.credentials[best]), best_distance, runner_up
    )

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
    # Each row's squared length, kept from the load so that a search reads the matrix once
    # (Euclidean distance² = |g|² − 2 g·q + |q|²).
    norms: npt.NDArray[np.float32] = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        squared = np.einsum("ij,ij->i", self.matrix, self.matrix) if self.matrix.size else None
        object.__setattr__(self, "norms", np.zeros(0, np.float32) if squared is None else squared)

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
    """Open-set search of ``probe`` in ``gallery``: one pass over the matrix (a product
    with the probe), then the nearest row and the nearest row of anyone else."""
    if len(gallery) == 0:
        return Match(None, None, None, None)
    query = probe.astype(np.float32)
    # A key that orders rows as their distance does, turned into distances for two rows.
    key = gallery.matrix @ query
    if gallery.metric == "euclidean":
        key *= -2.0
        key += gallery.norms
        offset = float(query @ query)

        def distance(k: float) -> float:
            return float(np.sqrt(max(k + offset, 0.0)))
    elif gallery.metric == "cosine":  # unit vectors: distance = 1 − g·q
        np.negative(key, out=key)

        def distance(k: float) -> float:
            return 1.0 + k
    else:
        return _search_by_distances(gallery, query, threshold=threshold, margin=margin)
    best = int(np.argmin(key))
    person = gallery.persons[best]
    best_key = float(key[best])
    key[best] = np.inf
    second = int(np.argmin(key))
    if len(gallery) > 1 and gallery.persons[second] == person:
        others = key[gallery.persons != person]  # the same person enrolled twice
        second_key = float(others.min()) if others.size else None
    else:
        second_key = float(key[second]) if len(gallery) > 1 else None
    return _judged(
        gallery,
        best,
        distance(best_key),
        None if second_key is None else distance(second_key),
        threshold,
        margin,
    )


def _search_by_distances(
    gallery: Gallery, query: Vector, *, threshold: float, margin: float
) -> Match:
    found = distances(gallery.matrix, query, gallery.metric)
    best = int(np.argmin(found))
    others = found[gallery.persons != gallery.persons[best]]
    runner_up = float(others.min()) if others.size else None
    return _judged(gallery, best, float(found[best]), runner_up, threshold, margin)


def _judged(
    gallery: Gallery,
    best: int,
    best_distance: float,
    runner_up: float | None,
    threshold: float,
    margin: float,
) -> Match:
    known = best_distance <= threshold and (
        runner_up is None or runner_up - best_distance >= margin
    )
    if not known:
        return Match(None, None, best_distance, runner_up)
    return Match(
        int(gallery.persons[best]), int(gallery.credentials[best]), best_distance, runner_up
    )

"""Per-community galleries in memory, and the open-set 1:N search over them.

A gallery is every active template of one modality in one community, unsealed into a
float32 matrix (one row a template) held by each process that searches. Before each
search the process reads the community's :class:`GalleryVersion` (one indexed row): every
change to the templates raises it in the same transaction, so a gallery older than the
database is rebuilt before it is used, and a deleted template is never matched once its
deletion has committed, whichever process made it.

The search (:mod:`.search`) is **open-set**: the nearest template is only a match when it
is within the engine's threshold *and* the nearest template of any other person is at
least the margin further away; otherwise the answer is "unknown", never the nearest
resident.
"""

from __future__ import annotations

import threading

import numpy as np

from linli.access.choices import CredentialStatus
from linli.biometrics import templates
from linli.biometrics.models import GalleryVersion, Template
from linli.biometrics.search import Gallery, Match, search
from linli.core import audit
from linli.core.tenancy import Actor


class Galleries:
    """This process's galleries, rebuilt when their community's version moves on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[int, str], Gallery] = {}

    def current(self, community_id: int, modality: str, engine: str, metric: str) -> Gallery:
        """The gallery as the database has it now (rebuilt if it changed)."""
        number = (
            GalleryVersion.objects.filter(community_id=community_id, modality=modality)
            .values_list("number", flat=True)
            .first()
        ) or 0
        key = (community_id, modality)
        with self._lock:
            held = self._held.get(key)
        if held is not None and held.version == number and held.engine == engine:
            return held
        gallery = _load(community_id, modality, engine, metric, number)
        with self._lock:
            self._held[key] = gallery
        return gallery

    def forget(self) -> None:
        """Drop every gallery (tests; memory)."""
        with self._lock:
            self._held.clear()


def _load(community_id: int, modality: str, engine: str, metric: str, number: int) -> Gallery:
    rows = list(
        Template.objects.filter(
            community_id=community_id,
            modality=modality,
            engine=engine,
            credential__status=CredentialStatus.ACTIVE,
            consent__revoked_at__isnull=True,
        ).values_list("person_id", "credential_id", "dimension", "embedding_sealed")
    )
    dimension = rows[0][2] if rows else 0
    matrix = np.zeros((len(rows), dimension), dtype=np.float32)
    for i, (_person, _credential, size, sealed) in enumerate(rows):
        matrix[i] = templates.open_vector(sealed, size)
    # Unsealing templates is a sensitive read: one audit row per load, with the count.
    audit.record(
        Actor.system("biometrics.gallery"),
        "biometrics.gallery.load",
        community_id=community_id,
        sensitive=True,
        object_type="biometrics.gallery",
        object_id=f"{community_id}:{modality}",
        changes={"templates": [None, len(rows)], "version": [None, number]},
    )
    return Gallery(
        community_id,
        modality,
        engine,
        metric,
        number,
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=np.int64),
        matrix,
    )


galleries = Galleries()


__all__ = ["Galleries", "Gallery", "Match", "galleries", "search"]

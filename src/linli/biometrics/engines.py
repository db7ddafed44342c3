"""The biometric engines behind a small interface, so a deployment can plug another model.

A :class:`FaceEngine` finds faces in an RGB image and turns one into an embedding; a
:class:`VoiceEngine` turns speech into an embedding. Both load their models once per
process (lazily, on first use, behind a lock) and are plain blocking calls: callers on an
event loop run them in a thread. Inputs the engines cannot use are refused with a
:class:`BiometricRefused` whose ``code`` is machine-readable and whose message is shown to
people.

Comparisons are by **distance** between embeddings (smaller is more alike); each engine
names its metric and its thresholds come from measurement (``linli biometrics evaluate``,
docs/biometrics.md), never from a model's folklore.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from linli.core import errors

Vector = npt.NDArray[np.float32]
Image = npt.NDArray[np.uint8]  # height × width × 3, RGB
Samples = npt.NDArray[np.float32]  # mono, −1 … 1


class BiometricRefused(errors.ValidationFailed):
    """Input a biometric step cannot use: ``code`` for machines, ``message`` for people,
    ``details`` for the specifics (sizes, counts, measured values). The API answers it
    as any validation error (422 with that code)."""

    def __init__(self, code: str, message: Any, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, code=code, details=details or {})

    def as_dict(self) -> dict[str, Any]:
        """The refusal as the API's error body."""
        return {"code": self.code, "message": str(self.message), "details": self.details}


@dataclasses.dataclass(frozen=True)
class Box:
    """A face's box in image pixels (``right`` and ``bottom`` exclusive)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


@dataclasses.dataclass(frozen=True)
class Face:
    """A face found in an image: its box, the detector's confidence, and its landmarks
    (engine-specific points, in image pixels) for alignment, pose and liveness."""

    box: Box
    confidence: float
    landmarks: tuple[tuple[float, float], ...]


class FaceEngine(Protocol):
    """Detects faces and embeds one."""

    name: str  # model identity stored with each template (a template is only compared
    # with embeddings of the same engine)
    dimension: int
    metric: str  # "euclidean" or "cosine"

    def detect(self, image: Image) -> list[Face]:
        """The faces in ``image``, largest first."""
        ...

    def embed(self, image: Image, face: Face) -> Vector:
        """The embedding of ``face`` in ``image`` (float32, length :attr:`dimension`)."""
        ...


class VoiceEngine(Protocol):
    """Embeds an utterance."""

    name: str
    dimension: int
    metric: str
    sample_rate: int  # the rate :meth:`embed` expects

    def embed(self, samples: Samples) -> Vector:
        """The embedding of one utterance at :attr:`sample_rate` (speech already checked)."""
        ...


def distances(gallery: npt.NDArray[np.float32], probe: Vector, metric: str) -> npt.NDArray[Any]:
    """Distances from ``probe`` to each row of ``gallery`` (one matrix-vector product)."""
    if metric == "cosine":  # rows and probe are unit vectors
        return np.asarray(1.0 - gallery @ probe)
    if metric == "euclidean":
        squared = np.einsum("ij,ij->i", gallery, gallery) - 2.0 * (gallery @ probe)
        squared += float(probe @ probe)
        return np.sqrt(np.maximum(squared, 0.0))
    raise ValueError(f"unknown metric {metric!r}")

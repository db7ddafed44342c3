"""Error rates of a biometric comparison, from distances of genuine and impostor pairs.

A pair is accepted when its distance is at most the threshold. The false accept rate
(FAR) is the share of impostor pairs accepted, the false reject rate (FRR) the share of
genuine pairs refused. With ``n`` impostor pairs a FAR below ``1/n`` cannot be measured:
every figure here says how many pairs it rests on.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Scores = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class Operating:
    """One threshold and its error rates."""

    threshold: float
    far: float
    frr: float

    def as_dict(self) -> dict[str, float]:
        return {"threshold": round(self.threshold, 4), "far": self.far, "frr": self.frr}


def _sorted(values: Sequence[float] | npt.NDArray[Any]) -> Scores:
    array = np.sort(np.asarray(values, dtype=np.float64))
    if array.size == 0:
        raise ValueError("no scores")
    return array


def rates(genuine: Scores, impostor: Scores, threshold: float) -> Operating:
    """FAR and FRR at ``threshold`` (accept when distance ≤ threshold)."""
    g, i = _sorted(genuine), _sorted(impostor)
    far = float(np.searchsorted(i, threshold, side="right")) / i.size
    frr = 1.0 - float(np.searchsorted(g, threshold, side="right")) / g.size
    return Operating(float(threshold), far, frr)


def curve(genuine: Scores, impostor: Scores) -> list[Operating]:
    """The operating points at every distinct score (the ROC/DET curve)."""
    g, i = _sorted(genuine), _sorted(impostor)
    thresholds = np.unique(np.concatenate([g, i]))
    far = np.searchsorted(i, thresholds, side="right") / i.size
    frr = 1.0 - np.searchsorted(g, thresholds, side="right") / g.size
    return [
        Operating(float(t), float(a), float(r))
        for t, a, r in zip(thresholds, far, frr, strict=True)
    ]


def equal_error(genuine: Scores, impostor: Scores) -> Operating:
    """The operating point where FAR and FRR are closest (their mean is the EER)."""
    points = curve(genuine, impostor)
    return min(points, key=lambda p: (abs(p.far - p.frr), p.far + p.frr))


def eer(genuine: Scores, impostor: Scores) -> float:
    """The equal error rate."""
    point = equal_error(genuine, impostor)
    return (point.far + point.frr) / 2


def at_far(genuine: Scores, impostor: Scores, target: float) -> Operating:
    """The most lenient threshold whose FAR is at most ``target``, and its FRR.

    The threshold sits just below the closest impostor that would push FAR over the
    target, so it is as far from them as the genuine scores allow."""
    i = _sorted(impostor)
    allowed = int(np.floor(target * i.size + 1e-9))  # impostor pairs that may pass
    # Accept everything strictly below the (allowed+1)-th closest impostor.
    threshold = float(i[-1]) if allowed >= i.size else float(np.nextafter(i[allowed], -np.inf))
    return rates(genuine, impostor, threshold)


def summary(genuine: Scores, impostor: Scores, fars: Sequence[float]) -> dict[str, Any]:
    """The figures a report shows: pair counts, distributions, EER, FRR at each FAR."""
    g, i = _sorted(genuine), _sorted(impostor)
    point = equal_error(g, i)
    return {
        "genuine_pairs": int(g.size),
        "impostor_pairs": int(i.size),
        "genuine": _spread(g),
        "impostor": _spread(i),
        "eer": round((point.far + point.frr) / 2, 6),
        "eer_threshold": round(point.threshold, 4),
        "at_far": {f"{far:g}": at_far(g, i, far).as_dict() for far in fars},
        "smallest_measurable_far": 1.0 / i.size,
    }


def _spread(values: Scores) -> dict[str, float]:
    p = np.percentile(values, [1, 5, 50, 95, 99])
    return {
        "min": round(float(values[0]), 4),
        "p1": round(float(p[0]), 4),
        "p5": round(float(p[1]), 4),
        "p50": round(float(p[2]), 4),
        "p95": round(float(p[3]), 4),
        "p99": round(float(p[4]), 4),
        "max": round(float(values[-1]), 4),
    }


def det_png(curves: dict[str, tuple[Scores, Scores]], title: str = "") -> bytes:
    """A DET plot (FRR against FAR, both on log scales) of each named curve, as PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.8), dpi=100)
    axes = figure.add_subplot()
    for label, (genuine, impostor) in curves.items():
        points = curve(genuine, impostor)
        floor_far = 0.5 / len(impostor)
        floor_frr = 0.5 / len(genuine)
        far = [max(p.far, floor_far) for p in points]
        frr = [max(p.frr, floor_frr) for p in points]
        axes.plot(far, frr, label=f"{label} (EER {eer(genuine, impostor):.2%})")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("FAR (false accept rate)")
    axes.set_ylabel("FRR (false reject rate)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="upper right")
    if title:
        axes.set_title(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()

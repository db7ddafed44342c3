"""Medians, ratios against the baseline, a plain-text table, and the JSON results file."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).with_name("results")
REPO_DIR = Path(__file__).resolve().parent.parent


def median(values: Iterable[float]) -> float:
    """Return the median of ``values`` (the middle run of an odd number of repetitions)."""
    items = list(values)
    if not items:
        raise ValueError("median of no values")
    return float(statistics.median(items))


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (nearest rank) of already sorted values (0 if none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def medians(runs: Sequence[Mapping[str, float]], keys: Sequence[str]) -> dict[str, float]:
    """Return the median of each of ``keys`` over ``runs`` (each key taken on its own)."""
    return {key: median(run[key] for run in runs) for key in keys}


def ratio(value: float, baseline: float) -> float | None:
    """Return ``value / baseline``, or ``None`` when the baseline is zero."""
    if baseline == 0:
        return None
    return value / baseline


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Return a plain-text table; the first column is left-aligned, the others right."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def fmt_number(value: float | None, digits: int = 0) -> str:
    """Format a figure for a table (thousands separated; ``–`` for none)."""
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO_DIR, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def environment() -> dict[str, Any]:
    """Describe where and on what code the benchmark ran."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def utc_now() -> dt.datetime:
    """Return the current time in UTC (results are stamped in UTC)."""
    return dt.datetime.now(dt.UTC)


def write_results(
    name: str,
    data: Mapping[str, Any],
    *,
    started_at: dt.datetime,
    directory: Path = RESULTS_DIR,
) -> Path:
    """Write one run's results as ``<directory>/<name>-<start, UTC>.json``; return the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{started_at:%Y%m%dT%H%M%SZ}.json"
    document = {
        "benchmark": name,
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": utc_now().isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "environment": environment(),
        **data,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path

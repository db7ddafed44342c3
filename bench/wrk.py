"""Run wrk against a URL and read its result line (see ``wrk_report.lua``)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPORT_SCRIPT = Path(__file__).with_name("wrk_report.lua")
MARKER = "LINLI_BENCH"

DEFAULT_DURATION = 20
QUICK_DURATION = 5


class WrkError(RuntimeError):
    """wrk is missing, failed, or printed no result line."""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: totals, exact latency percentiles (ms) and error counts."""

    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    connect_errors: int = 0
    read_errors: int = 0
    write_errors: int = 0
    status_errors: int = 0
    timeouts: int = 0

    @property
    def rps(self) -> float:
        """Return the completed requests per second."""
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def errors(self) -> int:
        """Return every socket error, timeout and non-2xx/3xx response counted by wrk."""
        return (
            self.connect_errors
            + self.read_errors
            + self.write_errors
            + self.status_errors
            + self.timeouts
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the run as JSON-ready data, requests/s included."""
        return {**asdict(self), "rps": round(self.rps, 1), "errors": self.errors}


def parse_output(text: str) -> WrkResult:
    """Read the ``LINLI_BENCH key=value …`` line that the Lua ``done`` hook printed."""
    line = next((ln for ln in reversed(text.splitlines()) if ln.startswith(MARKER + " ")), None)
    if line is None:
        raise WrkError(f"no {MARKER} line in wrk output:\n{text.strip()}")
    values: dict[str, float] = {}
    for item in line.split()[1:]:
        key, sep, raw = item.partition("=")
        if not sep:
            raise WrkError(f"malformed item {item!r} in {line!r}")
        try:
            values[key] = float(raw)
        except ValueError as exc:
            raise WrkError(f"non-numeric {key}={raw!r} in {line!r}") from exc
    try:
        return WrkResult(
            requests=int(values["requests"]),
            duration_s=values["duration_us"] / 1e6,
            p50_ms=values["p50_us"] / 1000,
            p90_ms=values["p90_us"] / 1000,
            p99_ms=values["p99_us"] / 1000,
            max_ms=values["max_us"] / 1000,
            mean_ms=values["mean_us"] / 1000,
            connect_errors=int(values.get("connect_errors", 0)),
            read_errors=int(values.get("read_errors", 0)),
            write_errors=int(values.get("write_errors", 0)),
            status_errors=int(values.get("status_errors", 0)),
            timeouts=int(values.get("timeouts", 0)),
        )
    except KeyError as exc:
        raise WrkError(f"missing {exc.args[0]} in {line!r}") from exc


@dataclass(frozen=True)
class LoadSettings:
    """How hard and how long wrk drives a server, and how often a run is repeated."""

    duration: int = DEFAULT_DURATION
    repeat: int = 3
    warmup: int = 2
    connections: int = 64
    threads: int = 2
    wrk_cpus: str = ""  # a taskset CPU list, e.g. "1"; empty: not pinned
    # When wrk stops, up to `connections` requests are still queued in the server; without a
    # pause the next run would inherit them and show their wait as its own tail latency.
    settle: float = 1.0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LoadSettings:
        """Build the settings from :func:`add_arguments` options (``--quick`` applied)."""
        quick = bool(args.quick)
        return cls(
            duration=args.duration or (QUICK_DURATION if quick else DEFAULT_DURATION),
            repeat=args.repeat or (1 if quick else 3),
            warmup=args.warmup if args.warmup is not None else (1 if quick else 2),
            connections=args.connections,
            threads=args.threads,
            wrk_cpus=args.wrk_cpus,
        )

    def describe(self) -> str:
        """Return a one-line summary for tables and logs."""
        pinned = f", wrk pinned to CPU {self.wrk_cpus}" if self.wrk_cpus else ""
        return (
            f"{self.repeat} × {self.duration} s per case (warm-up {self.warmup} s), "
            f"wrk -t{self.threads} -c{self.connections}{pinned}"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the load options every wrk-driven benchmark shares."""
    group = parser.add_argument_group("load (wrk)")
    group.add_argument(
        "--duration", type=int, help=f"seconds per wrk run (default {DEFAULT_DURATION})"
    )
    group.add_argument("--repeat", type=int, help="repetitions per case (default 3)")
    group.add_argument(
        "--warmup", type=int, help="seconds of warm-up per case, 0 for none (default 2)"
    )
    group.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK_DURATION} s, 1 repetition, 1 s warm-up (unless overridden)",
    )
    group.add_argument("--connections", type=int, default=64)
    group.add_argument("--threads", type=int, default=2)
    group.add_argument(
        "--wrk-cpus",
        default="1",
        help="taskset CPU list for wrk (default '1'; '' to leave it unpinned)",
    )


def command(
    url: str,
    load: LoadSettings,
    duration: int,
    headers: dict[str, str],
    *,
    script: Path = REPORT_SCRIPT,
    script_args: Sequence[str] = (),
) -> list[str]:
    """Return the wrk command line for one run.

    ``script`` is the Lua script (default ``wrk_report.lua``; another one must print the
    same result line); ``script_args`` follow ``--`` and reach its ``init(args)``.
    """
    wrk = shutil.which("wrk")
    if wrk is None:
        raise WrkError("wrk is not installed (Debian: apt-get install wrk)")
    cmd = [
        wrk,
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{duration}s",
        "-s",
        str(script),
    ]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    if script_args:
        cmd += ["--", *script_args]
    if load.wrk_cpus:
        cmd = ["taskset", "-c", load.wrk_cpus, *cmd]
    return cmd


def run(
    url: str,
    load: LoadSettings,
    *,
    duration: int | None = None,
    headers: dict[str, str],
    script: Path = REPORT_SCRIPT,
    script_args: Sequence[str] = (),
) -> WrkResult:
    """Drive ``url`` with wrk for ``duration`` seconds (default: the load's) and parse it."""
    seconds = load.duration if duration is None else duration
    cmd = command(url, load, seconds, headers, script=script, script_args=script_args)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    time.sleep(load.settle)
    if done.returncode != 0:
        raise WrkError(f"wrk exited with {done.returncode}: {done.stderr.strip()}")
    return parse_output(done.stdout)

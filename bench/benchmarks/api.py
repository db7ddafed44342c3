"""``api``: requests/s and latency of API reads against a do-nothing baseline, per database.

Four cases, all served by one real ``linli serve`` process (gunicorn, 2 sync workers) and
driven by wrk in turn, repetition after repetition, so noise on this shared machine hits
the baseline and the targets alike:

- ``noop``: a do-nothing JSON endpoint (the baseline: Django, middleware, gunicorn);
- ``cached``: a community read from the per-process cache;
- ``one_query``: a community read with one primary-key SELECT;
- ``api``: the real ``GET /api/v1/communities/{id}`` with a Bearer API token.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import databases, registry, report, wrk
from bench.server import ServerProcess, free_port, http_get
from bench.site import runner

NAME = "api"


@dataclass(frozen=True)
class Case:
    """One endpoint the benchmark drives."""

    name: str
    label: str
    path: str  # may contain {community_id}
    auth: bool = False


CASES = (
    Case("noop", "do-nothing endpoint (baseline)", "/bench/noop"),
    Case("cached", "cached read", "/bench/cached/{community_id}"),
    Case("one_query", "one-query read (primary key)", "/bench/one-query/{community_id}"),
    Case("api", "API GET /api/v1/communities/{id}", "/api/v1/communities/{community_id}", True),
)
BASELINE = "noop"


@dataclass(frozen=True)
class Target:
    """What a case must reach to PASS."""

    case: str
    min_rps: float
    max_p99_ms: float

    def check(self, rps: float, p99_ms: float) -> bool:
        """Say whether medians ``rps`` and ``p99_ms`` meet the target."""
        return rps >= self.min_rps and p99_ms <= self.max_p99_ms

    def describe(self) -> str:
        """Return the target in words."""
        return f"{self.case} ≥ {self.min_rps:,.0f} req/s with p99 ≤ {self.max_p99_ms:g} ms"


TARGET = Target(case="one_query", min_rps=1000, max_p99_ms=100)
MEDIAN_KEYS = ("rps", "p50_ms", "p90_ms", "p99_ms", "max_ms")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``api`` benchmark's options."""
    databases.add_arguments(parser)
    wrk.add_arguments(parser)
    parser.add_argument(
        "--residents",
        type=int,
        default=50,
        help="residents seeded in the community read (default %(default)s)",
    )
    parser.add_argument(
        "--settings",
        default=runner.SETTINGS,
        help="Django settings module to serve (default %(default)s; a variant of it can "
        "measure a proposed settings change without touching the product)",
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=report.RESULTS_DIR,
        help="where the JSON results go (default bench/results/)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when the target FAILs"
    )


def _headers(case: Case, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if case.auth else {}


def _summarise(runs: list[wrk.WrkResult]) -> dict[str, Any]:
    rows = [{**r.as_dict(), "rps": r.rps} for r in runs]
    median = report.medians(rows, MEDIAN_KEYS)
    return {
        "runs": [r.as_dict() for r in runs],
        "median": {k: round(v, 2) for k, v in median.items()},
        "errors": sum(r.errors for r in runs),
        "status_errors": sum(r.status_errors for r in runs),
    }


def drive(
    server: ServerProcess, paths: dict[str, str], token: str, load: wrk.LoadSettings, kind: str
) -> dict[str, list[wrk.WrkResult]]:
    """Check every case answers, warm up, then run wrk on each case, repetition by repetition."""
    for case in CASES:  # a wrong answer would make every figure meaningless
        http_get(server.url(paths[case.name]), _headers(case, token))
    if load.warmup:
        print(f"[{kind}] warming up …", flush=True)
        for case in CASES:
            wrk.run(
                server.url(paths[case.name]),
                load,
                duration=load.warmup,
                headers=_headers(case, token),
            )
    runs: dict[str, list[wrk.WrkResult]] = {c.name: [] for c in CASES}
    for rep in range(1, load.repeat + 1):
        # Rotate the order each repetition: no case always runs first or last.
        shift = (rep - 1) % len(CASES)
        for case in CASES[shift:] + CASES[:shift]:
            result = wrk.run(server.url(paths[case.name]), load, headers=_headers(case, token))
            runs[case.name].append(result)
            print(
                f"[{kind}] run {rep}/{load.repeat} {case.name:<10}"
                f" {result.rps:8,.0f} req/s  p99 {result.p99_ms:6.1f} ms"
                + (f"  errors {result.errors}" if result.errors else ""),
                flush=True,
            )
    return runs


def summarise(
    runs: dict[str, list[wrk.WrkResult]], profile: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Return each case's runs, medians, ratios against the baseline and profile."""
    cases: dict[str, dict[str, Any]] = {}
    for case in CASES:
        cases[case.name] = {
            "label": case.label,
            "path": case.path,
            **_summarise(runs[case.name]),
            "profile": profile.get(case.name, {}),
        }
    base = cases[BASELINE]["median"]
    for entry in cases.values():
        entry["ratio_rps"] = report.ratio(entry["median"]["rps"], base["rps"])
        entry["ratio_p99"] = report.ratio(entry["median"]["p99_ms"], base["p99_ms"])
    return cases


def run_database(kind: str, args: argparse.Namespace, load: wrk.LoadSettings) -> dict[str, Any]:
    """Seed a scratch database of ``kind``, serve it, drive every case; return the figures."""
    home = Path(tempfile.mkdtemp(prefix=f"linli-bench-{kind}-"))
    # The server logs a line per request (as in production): tens of MB, kept only on failure.
    log_path = home / "linli.log"
    try:
        with databases.scratch(
            kind, home, pg_url=args.pg_url, name=f"linli_bench_{os.getpid()}"
        ) as db:
            label = db.label
            print(f"[{kind}] {label}: migrating and seeding …", flush=True)
            env = runner.linli_env(home, db.env, settings=args.settings)
            data = runner.run_step(
                ["prepare-api", "--residents", str(args.residents)], env, log_path
            )
            token: str = data.pop("token")  # never written to the results
            paths = {c.name: c.path.format(community_id=data["community_id"]) for c in CASES}
            profile = runner.run_step(
                ["profile", "--timed", "50" if args.quick else "200"],
                env,
                log_path,
                stdin={
                    "requests": [
                        {"name": c.name, "path": paths[c.name], "headers": _headers(c, token)}
                        for c in CASES
                    ]
                },
            )
            port = free_port()
            with ServerProcess(
                runner.serve_argv(port, workers=2),
                env=env,
                port=port,
                log_path=log_path,
                cwd=runner.REPO_DIR,
            ) as server:
                runs = drive(server, paths, token, load, kind)
    except BaseException:
        if log_path.exists():
            kept = args.results_dir / f"{NAME}-{kind}-failed.log"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log_path, kept)
            print(f"[{kind}] failed; the server's log is in {kept}", file=sys.stderr)
        raise
    finally:
        shutil.rmtree(home, ignore_errors=True)

    cases = summarise(runs, profile)
    target = cases[TARGET.case]["median"]
    return {
        "database": label,
        "settings": args.settings,
        "fixture": data,
        "cases": cases,
        "target": {
            "description": TARGET.describe(),
            "pass": TARGET.check(target["rps"], target["p99_ms"]),
        },
    }


def _shorten(sql: str, width: int = 160) -> str:
    return sql if len(sql) <= width else sql[: width - 1] + "…"


def render(kind: str, result: dict[str, Any], load: wrk.LoadSettings) -> str:
    """Return the medians table, the target verdict and the API read's profile."""
    rows = []
    for case in CASES:
        entry = result["cases"][case.name]
        median = entry["median"]
        prof = entry["profile"]
        rows.append(
            [
                case.label,
                report.fmt_number(median["rps"]),
                report.fmt_number(entry["ratio_rps"], 2),
                report.fmt_number(median["p50_ms"], 1),
                report.fmt_number(median["p90_ms"], 1),
                report.fmt_number(median["p99_ms"], 1),
                report.fmt_number(entry["ratio_p99"], 2),
                str(entry["errors"]),
                str(prof.get("queries", "?")),
                report.fmt_number(prof.get("in_process_ms"), 2),
            ]
        )
    table = report.format_table(
        [
            "case",
            "req/s",
            "×base",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99 ×base",
            "errors",
            "SQL/req",
            "in-proc ms",
        ],
        rows,
    )
    verdict = "PASS" if result["target"]["pass"] else "FAIL"
    target = result["cases"][TARGET.case]["median"]
    api = result["cases"]["api"]
    one = result["cases"]["one_query"]["median"]
    lines = [
        f"== api on {kind}: {result['database']}",
        f"   medians of {load.describe()}",
        table,
        f"target {TARGET.describe()}: {verdict} "
        f"({target['rps']:,.0f} req/s, p99 {target['p99_ms']:.1f} ms)",
        f"API read: {api['median']['rps']:,.0f} req/s = "
        f"{api['median']['rps'] / one['rps']:.2f} × the one-query read, "
        f"p99 {api['median']['p99_ms']:.1f} ms; "
        f"{api['profile'].get('queries', '?')} SQL statements per request:",
    ]
    lines += [f"   {i}. {_shorten(sql)}" for i, sql in enumerate(api["profile"].get("sql", []), 1)]
    opened = {c.name: result["cases"][c.name]["profile"].get("connections_opened") for c in CASES}
    if any(opened.values()):
        lines.append(
            "database connections opened per request: "
            + ", ".join(f"{k} {v}" for k, v in opened.items())
        )
    return "\n".join(lines)


@registry.register(
    NAME, "API requests/s and p99 vs a do-nothing baseline (SQLite, PostgreSQL)", configure
)
def run(args: argparse.Namespace) -> int:
    """Run the ``api`` benchmark on the chosen databases; print and save the medians."""
    load = wrk.LoadSettings.from_args(args)
    started = report.utc_now()
    results: dict[str, Any] = {}
    rendered: list[str] = []
    for kind in databases.kinds(args.db):
        results[kind] = run_database(kind, args, load)
        rendered.append(render(kind, results[kind], load))
        print("\n" + rendered[-1] + "\n", flush=True)
    path = report.write_results(
        NAME,
        {
            "load": dataclasses.asdict(load),
            "target": dataclasses.asdict(TARGET),
            "databases": results,
        },
        started_at=started,
        directory=args.results_dir,
    )
    if len(rendered) > 1:
        print("\n\n".join(rendered))
    print(f"\nresults: {path}")
    failed_status = sorted(
        k for k, r in results.items() if any(c["status_errors"] for c in r["cases"].values())
    )
    if failed_status:
        print(f"error: non-2xx responses during the runs on {failed_status}", file=sys.stderr)
        return 2
    if args.strict and not all(r["target"]["pass"] for r in results.values()):
        return 1
    return 0

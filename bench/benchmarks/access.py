"""``access``: access decisions for QR, card and PIN against a do-nothing POST, per database.

Three parts (issue 5):

- **HTTP**: one real ``linli serve`` process (its default server, granian, 2 workers;
  ``--server gunicorn`` for gunicorn's sync workers, ``--workers`` for another count) answers
  ``POST /device/v1/access/decide`` from many terminals, driven by wrk with
  ``bench/access_post.lua`` (each request its own body and its terminal's Authorization, from a
  file), case after case, the order rotating per repetition: ``noop-direct`` (``POST
  /bench/noop-direct``, the baseline: a do-nothing direct endpoint, served the way the
  decision is), ``noop`` (``POST /bench/noop-post``, a do-nothing Django view with the
  console's middleware), ``card``, ``pin``, ``qr``. Each case runs twice:
  **flat out** (``-c8``, each connection asking again as soon as it has its answer: the
  capacity, and a latency that is mostly the queue wrk itself keeps full) and **paced**
  (:data:`PACED_TERMINALS` connections, each pausing :data:`PAUSE_MS` after an answer, as
  terminals do: about 1,100 requests/s offered while answers are quick, falling to 1,000/s
  when they take 4 ms): the latency at the target's rate. A 一码通 pass is accepted
  once and lives at most 60 s, so each QR run gets a fresh file of unique passes signed just
  before it. Every answer is logged as an access event: after each run the events are
  counted by reason, and anything but ``allowed`` is a failed run.
- **In-process**: ``decide()`` alone and the whole HTTP decision through Linli's WSGI
  application (the direct endpoint), µs per decision and SQL statements per decision, plus
  a cProfile breakdown.
- **Offline** (one core, no database): raw Ed25519 verifications of a pass-sized message,
  ``passes.verify`` and an ``OfflineTerminal`` verifying and deciding, per second.

Target: each HTTP decision (card, PIN, QR) at ≥ 1,000 decisions/s with p99 ≤ 10 ms, judged
on the paced runs: the rate reached there, and the p99 at that rate.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import databases, registry, report, wrk
from bench.server import HOST, ServerProcess, free_port
from bench.site import runner
from bench.site.manage import request_line

NAME = "access"
SCRIPT = Path(__file__).resolve().parent.parent / "access_post.lua"
DECIDE_PATH = "/device/v1/access/decide"
NOOP_PATH = "/bench/noop-post"
NOOP_DIRECT_PATH = "/bench/noop-direct"
MAX_QR_SECONDS = 30  # passes live 60 s: a run must end well before the first ones expire
PASS_LIFETIME = 60
ALLOWED = "allowed"
# The paced load: so many terminals, each waiting this long after an answer before asking
# again. 40 / (36 ms + answer time) is 1,111 requests/s for instant answers, 1,000/s when
# answers take 4 ms: the rate target is only reached while answers stay quick.
PACED_TERMINALS = 40
PAUSE_MS = 36
PACED = "paced"


@dataclass(frozen=True)
class Case:
    """One thing wrk drives: the do-nothing POST, or a decision by one method."""

    name: str
    label: str
    path: str
    method: str = ""  # card / pin / qr; "" for the baseline


CASES = (
    Case("noop-direct", "do-nothing POST (baseline)", NOOP_DIRECT_PATH),
    Case("noop", "do-nothing POST via Django", NOOP_PATH),
    Case("card", "decide: card", DECIDE_PATH, "card"),
    Case("pin", "decide: PIN", DECIDE_PATH, "pin"),
    Case("qr", "decide: QR pass", DECIDE_PATH, "qr"),
)
BASELINE = "noop-direct"
BASELINES = ("noop-direct", "noop")
METHODS = ("card", "pin", "qr")


@dataclass(frozen=True)
class Target:
    """What each HTTP decision must reach to PASS."""

    min_rps: float = 1000
    max_p99_ms: float = 10

    def check(self, rps: float, p99_ms: float) -> bool:
        """Say whether medians ``rps`` and ``p99_ms`` meet the target."""
        return rps >= self.min_rps and p99_ms <= self.max_p99_ms

    def describe(self) -> str:
        """Return the target in words."""
        return f"≥ {self.min_rps:,.0f} decisions/s with p99 ≤ {self.max_p99_ms:g} ms"


TARGET = Target()
MEDIAN_KEYS = ("rps", "p50_ms", "p90_ms", "p99_ms", "max_ms")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``access`` benchmark's options."""
    databases.add_arguments(parser)
    wrk.add_arguments(parser)
    # Terminals ask one at a time and wait for the answer: a few connections, not 64.
    parser.set_defaults(connections=8)
    parser.add_argument("--residents", type=int, help="residents seeded (default 1000; quick 200)")
    parser.add_argument(
        "--server",
        choices=["granian", "gunicorn"],
        default="",
        help="WSGI server of `linli serve` (default: its own default, granian)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes of `linli serve` (default %(default)s)",
    )
    parser.add_argument(
        "--points", type=int, default=20, help="gates, each with its own terminal (default 20)"
    )
    parser.add_argument(
        "--credentials",
        type=int,
        help="residents given a card and a PIN (default 500; quick 100)",
    )
    parser.add_argument(
        "--qr-rate",
        type=int,
        default=3000,
        help="passes signed per second of a QR run (default %(default)s; raised to 2 × the "
        "warm-up's rate if that is higher)",
    )
    parser.add_argument(
        "--iterations", type=int, help="in-process decisions timed per method (default 2000)"
    )
    parser.add_argument(
        "--offline-seconds", type=float, help="seconds per offline measurement (default 2)"
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=report.RESULTS_DIR,
        help="where the JSON results go (default bench/results/)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target FAILs"
    )


@dataclass(frozen=True)
class Sizes:
    """How much data and how many in-process iterations (``--quick`` makes them small)."""

    residents: int
    credentials: int
    iterations: int
    profiled: int
    offline_seconds: float
    offline_rounds: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Sizes:
        """Build the sizes from the options."""
        quick = bool(args.quick)
        return cls(
            residents=args.residents or (200 if quick else 1000),
            credentials=args.credentials or (100 if quick else 500),
            iterations=args.iterations or (200 if quick else 2000),
            profiled=50 if quick else 300,
            offline_seconds=args.offline_seconds or (0.3 if quick else 2.0),
            offline_rounds=1 if quick else 3,
        )


# Bodies files -----------------------------------------------------------------------------


def bodies_lines(gates: list[dict[str, str]], method: str, values: list[str]) -> list[str]:
    """Return request lines pairing value ``i`` with gate ``i mod gates`` (terminals in turn).

    The gates and the values are taken in turn independently, so with coprime counts every
    resident is seen at every gate.
    """
    return [request_line(gates[i % len(gates)], method, v) for i, v in enumerate(values)]


def pass_count(duration: int, qr_rate: float, warmup_rps: float | None) -> int:
    """Return how many passes a QR run of ``duration`` s needs at a generous rate."""
    rate = max(qr_rate, 2 * warmup_rps) if warmup_rps else qr_rate
    return int(rate * duration) + 200


# Answers and the access log ----------------------------------------------------------------


def post(url: str, line: str, timeout: float = 10.0) -> tuple[int, dict[str, Any]]:
    """POST one request line (see :func:`request_line`) to a loopback URL; return its answer."""
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError(f"benchmarks only talk to {HOST}: {url}")
    auth, _tab, body = line.rpartition("\t")
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
        return response.status, json.loads(response.read())


def unexpected(counts: dict[str, dict[str, int]], method: str) -> dict[str, int]:
    """Return the access events of a run that are not ``allowed`` decisions by ``method``."""
    wrong: dict[str, int] = {}
    for logged_method, reasons in counts.items():
        for reason, n in reasons.items():
            if logged_method != method or reason != ALLOWED:
                wrong[f"{logged_method}/{reason}"] = wrong.get(f"{logged_method}/{reason}", 0) + n
    return wrong


class AccessLog:
    """Counts the access events each run added (a Django-side step between runs)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.last_id = 0

    def since_last(self) -> dict[str, dict[str, int]]:
        """Return the events after the last call, by method and reason."""
        data = runner.run_step(
            ["access-events", "--after", str(self.last_id)], self.env, self.log_path
        )
        self.last_id = int(data["last_id"])
        counts: dict[str, dict[str, int]] = data["counts"]
        return counts


# Driving ------------------------------------------------------------------------------------


@dataclass
class Fixture:
    """What the prepared database gives the HTTP runs."""

    gates: list[dict[str, str]]
    files: dict[str, Path]  # bodies file per case (qr: rewritten before each run)
    home: Path
    env: dict[str, str]
    log_path: Path

    def fresh_passes(self, count: int) -> Path:
        """Sign ``count`` unique passes into the QR bodies file, just before a run."""
        path = self.files["qr"]
        runner.run_step(
            [
                "access-passes",
                "--count",
                str(count),
                "--lifetime",
                str(PASS_LIFETIME),
                "--out",
                str(path),
            ],
            self.env,
            self.log_path,
            stdin={"gates": self.gates},
        )
        return path


def check_answers(server: ServerProcess, fixture: Fixture, kind: str) -> dict[str, Any]:
    """Before any load: the baseline answers 200 and a sample of each method is allowed."""
    status, _body = post(server.url(NOOP_PATH), '{"point": "x"}')
    if status != 200:
        raise RuntimeError(f"the do-nothing POST answered {status}")
    fixture.fresh_passes(5)
    sample: dict[str, Any] = {}
    for method in METHODS:
        lines = fixture.files[method].read_text().splitlines()[:5]
        answers = [post(server.url(DECIDE_PATH), line)[1] for line in lines]
        sample[method] = [a.get("reason") for a in answers]
        if any(a.get("result") != "allow" for a in answers):
            raise RuntimeError(f"[{kind}] {method}: a sample decision was not allow: {answers}")
    print(f"[{kind}] sample decisions: " + ", ".join(f"{m} {sample[m]}" for m in METHODS))
    return sample


def _run_case(
    server: ServerProcess,
    case: Case,
    fixture: Fixture,
    load: wrk.LoadSettings,
    duration: int,
    passes: int,
    pause_ms: int = 0,
) -> wrk.WrkResult:
    bodies = "noop" if case.name in BASELINES else case.name
    path = fixture.fresh_passes(passes) if case.name == "qr" else fixture.files[bodies]
    return wrk.run(
        server.url(case.path),
        load,
        duration=duration,
        headers={},
        script=SCRIPT,
        script_args=[str(path), str(load.threads), str(pause_ms)],
    )


def drive(
    server: ServerProcess,
    fixture: Fixture,
    load: wrk.LoadSettings,
    kind: str,
    qr_rate: int,
) -> tuple[dict[str, list[wrk.WrkResult]], dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """Warm up, then run wrk on each case, repetition by repetition, counting the events."""
    events = AccessLog(fixture.env, fixture.log_path)
    sample = check_answers(server, fixture, kind)
    events.since_last()
    warmup_rps: float | None = None
    if load.warmup:
        print(f"[{kind}] warming up …", flush=True)
        for case in CASES:
            result = _run_case(
                server, case, fixture, load, load.warmup, pass_count(load.warmup, qr_rate, None)
            )
            if case.name == "qr":
                warmup_rps = result.rps
        events.since_last()
    paced = dataclasses.replace(load, connections=PACED_TERMINALS)
    runs: dict[str, list[wrk.WrkResult]] = {key: [] for key in run_keys()}
    logged: dict[str, list[dict[str, Any]]] = {key: [] for key in run_keys()}
    for rep in range(1, load.repeat + 1):
        shift = (rep - 1) % len(CASES)  # no case always runs first or after the same one
        for pace, settings, pause in (("", load, 0), (PACED, paced, PAUSE_MS)):
            for case in CASES[shift:] + CASES[:shift]:
                passes = pass_count(load.duration, qr_rate, warmup_rps)
                result = _run_case(server, case, fixture, settings, load.duration, passes, pause)
                counts = events.since_last()
                wrong = unexpected(counts, case.method) if case.method else _all(counts)
                key = run_key(case.name, pace)
                runs[key].append(result)
                logged[key].append(
                    {"counts": counts, "unexpected": wrong, "load_average": os.getloadavg()[0]}
                )
                print(
                    f"[{kind}] run {rep}/{load.repeat} {key:<11}"
                    f" {result.rps:8,.0f} req/s  p50 {result.p50_ms:6.2f}"
                    f"  p99 {result.p99_ms:6.2f} ms"
                    + (f"  errors {result.errors}" if result.errors else "")
                    + (f"  NOT ALLOWED {wrong}" if wrong else ""),
                    flush=True,
                )
    return runs, logged, sample


def run_key(case: str, pace: str = "") -> str:
    """The key of a case's runs: ``card`` flat out, ``paced card`` paced."""
    return f"{pace} {case}" if pace else case


def run_keys() -> list[str]:
    """Every case flat out, then every case paced."""
    return [run_key(c.name, pace) for pace in ("", PACED) for c in CASES]


def _all(counts: dict[str, dict[str, int]]) -> dict[str, int]:
    return {f"{m}/{r}": n for m, reasons in counts.items() for r, n in reasons.items()}


def summarise(
    runs: dict[str, list[wrk.WrkResult]],
    logged: dict[str, list[dict[str, Any]]],
    pace: str = "",
) -> dict[str, dict[str, Any]]:
    """Return each case's runs, medians, ratios against the baseline, events and, for the
    paced runs, the verdict."""
    cases: dict[str, dict[str, Any]] = {}
    for case in CASES:
        results = runs[run_key(case.name, pace)]
        rows = [{**r.as_dict(), "rps": r.rps} for r in results]
        median = report.medians(rows, MEDIAN_KEYS)
        events = logged[run_key(case.name, pace)]
        allowed = sum(e["counts"].get(case.method, {}).get(ALLOWED, 0) for e in events)
        wrong: dict[str, int] = {}
        for entry in events:
            for key, n in entry["unexpected"].items():
                wrong[key] = wrong.get(key, 0) + n
        cases[case.name] = {
            "label": case.label,
            "path": case.path,
            "runs": [r.as_dict() for r in results],
            "median": {k: round(v, 2) for k, v in median.items()},
            "errors": sum(r.errors for r in results),
            "status_errors": sum(r.status_errors for r in results),
            "events": events,
            "allowed": allowed,
            "not_allowed": wrong,
        }
    base = cases[BASELINE]["median"]
    for name, entry in cases.items():
        entry["ratio_rps"] = report.ratio(entry["median"]["rps"], base["rps"])
        entry["ratio_p99"] = report.ratio(entry["median"]["p99_ms"], base["p99_ms"])
        if name not in BASELINES and pace == PACED:
            entry["pass"] = TARGET.check(entry["median"]["rps"], entry["median"]["p99_ms"])
    return cases


def run_database(
    kind: str, args: argparse.Namespace, load: wrk.LoadSettings, sizes: Sizes
) -> dict[str, Any]:
    """Seed a scratch database of ``kind``, time decisions in-process, then over HTTP."""
    home = Path(tempfile.mkdtemp(prefix=f"linli-bench-access-{kind}-"))
    log_path = home / "linli.log"
    try:
        with databases.scratch(
            kind, home, pg_url=args.pg_url, name=f"linli_bench_access_{os.getpid()}"
        ) as db:
            label = db.label
            print(f"[{kind}] {label}: migrating and seeding …", flush=True)
            env = runner.linli_env(home, db.env)
            data = runner.run_step(
                [
                    "prepare-access",
                    "--residents",
                    str(sizes.residents),
                    "--points",
                    str(args.points),
                    "--credentials",
                    str(sizes.credentials),
                ],
                env,
                log_path,
            )
            # Secrets, card UIDs and PINs stay in the temporary directory, never in results.
            gates: list[dict[str, str]] = data.pop("gates")
            cards: list[str] = data.pop("cards")
            pins: list[str] = data.pop("pins")
            files = {"noop": home / "noop.jsonl", "qr": home / "qr.jsonl"}
            files["noop"].write_text(
                "\n".join(bodies_lines(gates, "card", cards[: len(gates)])) + "\n"
            )
            for method, values in (("card", cards), ("pin", pins)):
                files[method] = home / f"{method}.jsonl"
                files[method].write_text("\n".join(bodies_lines(gates, method, values)) + "\n")
            fixture = Fixture(gates, files, home, env, log_path)
            print(f"[{kind}] {data['seeded']}; timing decisions in-process …", flush=True)
            inproc = runner.run_step(
                ["inproc-access"],
                env,
                log_path,
                stdin={
                    "gates": gates,
                    "cards": cards,
                    "pins": pins,
                    "iterations": sizes.iterations,
                    "profiled": sizes.profiled,
                },
            )
            port = free_port()
            with ServerProcess(
                runner.serve_argv(port, workers=args.workers, server=args.server),
                env=env,
                port=port,
                log_path=log_path,
                cwd=runner.REPO_DIR,
            ) as server:
                runs, logged, sample = drive(server, fixture, load, kind, args.qr_rate)
    except BaseException:
        if log_path.exists():
            kept = args.results_dir / f"{NAME}-{kind}-failed.log"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log_path, kept)
            print(f"[{kind}] failed; the server's log is in {kept}", file=sys.stderr)
        raise
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {
        "database": label,
        "server": {"name": args.server or "granian", "workers": args.workers},
        "fixture": {**data, "points": args.points},
        "sample": sample,
        "cases": summarise(runs, logged),
        "paced": summarise(runs, logged, PACED),
        "inproc": inproc,
    }


def run_offline(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    """Measure offline verification on one core (a child process; no database is touched)."""
    home = Path(tempfile.mkdtemp(prefix="linli-bench-access-offline-"))
    try:
        data: dict[str, Any] = runner.run_step(
            [
                "offline-access",
                "--seconds",
                str(sizes.offline_seconds),
                "--rounds",
                str(sizes.offline_rounds),
            ],
            runner.linli_env(home),
            home / "offline.log",
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return summarise_offline(data)


OFFLINE_LABELS = {
    "raw_ed25519": "raw Ed25519 verify, 44-byte message (baseline)",
    "passes_verify": "passes.verify (base45 + checks + Ed25519)",
    "terminal_verify_decide": "OfflineTerminal.verify_pass + decide",
}


def summarise_offline(data: dict[str, Any]) -> dict[str, Any]:
    """Add medians and ratios against the raw Ed25519 rate to the offline step's runs."""
    medians = {
        name: report.medians(runs, ("per_second", "per_cpu_second"))
        for name, runs in data["runs"].items()
    }
    base = medians["raw_ed25519"]["per_cpu_second"]
    data["median"] = {
        name: {
            **{k: round(v, 1) for k, v in m.items()},
            "ratio": report.ratio(m["per_cpu_second"], base),
        }
        for name, m in medians.items()
    }
    return data


# Rendering ----------------------------------------------------------------------------------


def _http_table(result: dict[str, Any], pace: str) -> str:
    rows = []
    cases = result["paced" if pace else "cases"]
    for case in CASES:
        entry = cases[case.name]
        median = entry["median"]
        http = result["inproc"]["http"].get(case.name, {})
        verdict = "" if "pass" not in entry else ("PASS" if entry["pass"] else "FAIL")
        rows.append(
            [
                case.label,
                report.fmt_number(median["rps"]),
                report.fmt_number(entry["ratio_rps"], 2),
                report.fmt_number(median["p50_ms"], 2),
                report.fmt_number(median["p90_ms"], 2),
                report.fmt_number(median["p99_ms"], 2),
                str(entry["errors"]),
                "–" if case.name in BASELINES else f"{entry['allowed']:,}",
                str(sum(entry["not_allowed"].values())),
                str(http.get("queries", "?")),
                report.fmt_number(http.get("mean_us"), 0),
                verdict,
            ]
        )
    return report.format_table(
        [
            "case",
            "req/s",
            "×base",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "errors",
            "allowed",
            "other",
            "SQL/req",
            "in-proc µs",
            "target",
        ],
        rows,
    )


def render(kind: str, result: dict[str, Any], load: wrk.LoadSettings) -> str:
    """Return the HTTP tables with verdicts, the in-process table and the profile."""
    decide_rows = [
        [
            method,
            report.fmt_number(d["mean_us"], 0),
            report.fmt_number(d["p50_us"], 0),
            report.fmt_number(d["p99_us"], 0),
            report.fmt_number(d["per_second"], 0),
            str(d["queries"]),
            ", ".join(f"{k} {v}" for k, v in d["reasons"].items()),
        ]
        for method, d in result["inproc"]["decide"].items()
    ]
    decide_table = report.format_table(
        ["decide() alone", "mean µs", "p50 µs", "p99 µs", "/s (1 proc)", "SQL", "reasons"],
        decide_rows,
    )
    lines = [
        f"== access on {kind}: {result['database']}",
        f"   {result['fixture']['seeded']}; {result['fixture']['points']} gates, each with "
        f"its own terminal; {result['fixture']['with_card_and_pin']} residents with a card "
        "and a PIN",
        f"   HTTP: `linli serve` ({result['server']['name']}, workers: "
        f"{result['server']['workers']}); medians of {load.describe()}; POST bodies from "
        "bench/access_post.lua",
        "   flat out (the capacity; the latency is mostly wrk's own queue of "
        f"{load.connections} requests):",
        _http_table(result, ""),
        f"   paced: {PACED_TERMINALS} terminals, each pausing {PAUSE_MS} ms after an answer "
        "(≤ 1,111 requests/s offered; 1,000/s when answers take 4 ms):",
        _http_table(result, PACED),
    ]
    for method in METHODS:
        entry = result["paced"][method]
        verdict = "PASS" if entry["pass"] else "FAIL"
        lines.append(
            f"target decide {method} {TARGET.describe()}: {verdict} "
            f"({entry['median']['rps']:,.0f}/s, p99 {entry['median']['p99_ms']:.2f} ms)"
        )
    lines += ["", "in-process (one process, no load):", decide_table, ""]
    lines.append("where an HTTP decision's time goes (cProfile, µs per request and share):")
    pieces = {m: result["inproc"]["profile"][m]["pieces"] for m in METHODS}
    profile_rows = [
        [p["piece"]]
        + [f"{pieces[m][i]['us_per_request']:,.0f} ({pieces[m][i]['share']:.0%})" for m in METHODS]
        for i, p in enumerate(pieces["card"])
    ]
    lines.append(report.format_table(["piece", *METHODS], profile_rows))
    lines.append("SQL of one HTTP QR decision:")
    lines += [
        f"   {i}. {_shorten(sql)}"
        for i, sql in enumerate(result["inproc"]["http"]["qr"].get("sql", []), 1)
    ]
    return "\n".join(lines)


def render_offline(data: dict[str, Any]) -> str:
    """Return the offline table (rates per CPU second, ratios to raw Ed25519)."""
    rows = [
        [
            OFFLINE_LABELS[name],
            report.fmt_number(m["per_cpu_second"]),
            report.fmt_number(m["per_second"]),
            report.fmt_number(m["ratio"], 2),
        ]
        for name, m in data["median"].items()
    ]
    return "\n".join(
        [
            f"== offline pass verification, one core, no database "
            f"(medians of {data['rounds']} × {data['seconds']:g} s)",
            report.format_table(["case", "/CPU s", "/s (wall)", "× raw"], rows),
            "a burst of 2,000 passes in one second (all nonces held): "
            f"{data['burst_2000_same_second_per_second']:,.0f}/s",
        ]
    )


def _shorten(sql: str, width: int = 150) -> str:
    return sql if len(sql) <= width else sql[: width - 1] + "…"


@registry.register(
    NAME,
    "access decisions (card, PIN, QR) over HTTP and in-process vs a do-nothing POST; "
    "offline pass checks vs raw Ed25519",
    configure,
)
def run(args: argparse.Namespace) -> int:
    """Run the ``access`` benchmark; print and save the figures."""
    load = wrk.LoadSettings.from_args(args)
    if load.duration > MAX_QR_SECONDS:
        print(
            f"error: --duration must be ≤ {MAX_QR_SECONDS} s (passes expire after "
            f"{PASS_LIFETIME} s)",
            file=sys.stderr,
        )
        return 2
    sizes = Sizes.from_args(args)
    started = report.utc_now()
    results: dict[str, Any] = {}
    rendered: list[str] = []
    for kind in databases.kinds(args.db):
        results[kind] = run_database(kind, args, load, sizes)
        rendered.append(render(kind, results[kind], load))
        print("\n" + rendered[-1] + "\n", flush=True)
    offline = run_offline(args, sizes)
    rendered.append(render_offline(offline))
    path = report.write_results(
        NAME,
        {
            "load": dataclasses.asdict(load),
            "sizes": dataclasses.asdict(sizes),
            "target": dataclasses.asdict(TARGET),
            "paced": {"terminals": PACED_TERMINALS, "pause_ms": PAUSE_MS},
            "databases": results,
            "offline": offline,
            "load_average": os.getloadavg(),
        },
        started_at=started,
        directory=args.results_dir,
    )
    print("\n\n".join(rendered))
    print(f"\nresults: {path}")
    bad = sorted(
        k
        for k, r in results.items()
        if any(
            c["status_errors"] or c["not_allowed"]
            for c in [*r["cases"].values(), *r["paced"].values()]
        )
    )
    if bad:
        print(f"error: non-2xx answers or refused decisions on {bad}", file=sys.stderr)
        return 2
    if args.strict and not all(
        c["pass"] for r in results.values() for n, c in r["paced"].items() if n not in BASELINES
    ):
        return 1
    return 0

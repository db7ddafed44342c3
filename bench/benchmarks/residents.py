"""The residents benchmark: import 10,000 residents from .xlsx against openpyxl reading the file.

Per database, in child processes with a fresh scratch database: ``prepare`` migrates it and
creates a community with 5,000 rooms through Linli's actions and writes the residents file
(two residents per room, valid resident ID numbers, phones); ``baseline`` only reads the
same file with openpyxl (read-only, every cell), which no import can beat; ``import`` runs
``linli.people.imports.import_residents`` all-or-nothing, as the CLI and the worker do;
``reimport`` imports the same file again (every row unchanged). Each child reports its
wall time and its peak resident memory (``ru_maxrss``), so the import's memory includes
Django and the file, as a worker's would.

Targets: the import of 10,000 rows in at most 60 s and under 500 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import databases, report
from bench.registry import register
from bench.site import runner

TARGET_SECONDS = 60.0
TARGET_MB = 500.0
MARKER = "LINLI_BENCH_RESIDENTS"
STEPS = ("baseline", "import", "reimport")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options."""
    databases.add_arguments(parser)
    parser.add_argument("--rows", type=int, default=10_000, help="residents in the file")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1,000 rows, SQLite unless --db"
    )
    parser.add_argument("--results-dir", type=Path, default=report.RESULTS_DIR)


# -- child steps (run with Linli's environment; import Django) --------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _resident_id(i: int) -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=i // 1000)
    body = f"110105{born:%Y%m%d}{i % 1000:03d}"
    total = sum(int(d) * (2 ** (17 - k) % 11) for k, d in enumerate(body))
    check = (12 - total % 11) % 11
    return body + ("X" if check == 10 else str(check))


def _room_of(i: int) -> tuple[str, str, str]:
    """Two residents per room: buildings of 2 units × 100 rooms (101, 102, 201 …)."""
    b, rest = divmod(i // 2, 200)
    u, r = divmod(rest, 100)
    return str(b + 1), str(u + 1), str(100 * (1 + r // 2) + 1 + r % 2)


def _prepare(home: Path, rows: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from openpyxl import Workbook

    from linli.core.tenancy import Actor
    from linli.places.actions import (
        do_create_building,
        do_create_community,
        do_create_rooms,
        do_create_unit,
    )

    call_command("migrate", interactive=False, verbosity=0)
    system = Actor.system("bench")
    community = do_create_community(system, name="基准社区", code="bench")
    buildings = max(1, -(-rows // 400))
    for b in range(1, buildings + 1):
        building = do_create_building(system, community, number=str(b), floors_above=50)
        for u in ("1", "2"):
            unit = do_create_unit(system, building, number=u)
            specs = [
                (str(100 * (1 + r // 2) + 1 + r % 2), 1 + r // 2, None, "residential")
                for r in range(100)
            ]
            do_create_rooms(system, unit, specs)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("住户")
    header = ["姓名", "证件号码", "性别", "民族", "手机号码", "楼号", "单元号", "房号"]
    sheet.append([*header, "居住关系", "与户主关系", "户籍类别", "入住日期"])
    for i in range(rows):
        building, unit, room = _room_of(i)
        owner = i % 2 == 0
        person = [f"居民{i}", _resident_id(i), "", "汉族", f"139{i:08d}"]
        relation = ["业主", ""] if owner else ["家庭成员", "配偶"]
        moved_in = dt.date(2020, 1, 1) + dt.timedelta(days=i % 1000)
        sheet.append([*person, building, unit, room, *relation, "常住", moved_in])
    path = home / "residents.xlsx"
    book.save(path)
    return {"file_bytes": path.stat().st_size, "rooms": buildings * 200}


def _baseline(home: Path) -> dict[str, Any]:
    from openpyxl import load_workbook

    start = time.perf_counter()
    book = load_workbook(home / "residents.xlsx", read_only=True, data_only=False)
    cells = sum(1 for row in book.worksheets[0].iter_rows(values_only=True) for _ in row)
    book.close()
    return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), "cells": cells}


def _import(home: Path) -> dict[str, Any]:
    import django

    django.setup()
    from linli.core.tenancy import Actor
    from linli.people.imports import import_residents
    from linli.places.models import Community

    community = Community.objects.get(code="bench")
    before = _peak_mb()
    start = time.perf_counter()
    result = import_residents(Actor.system("bench"), community, home / "residents.xlsx")
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "peak_mb_before": before,
        "read": result.read,
        "applied": result.applied,
        "unchanged": result.unchanged,
        "invalid": result.invalid,
    }


def child(argv: list[str]) -> None:
    """Run one step in this process and print its JSON result after :data:`MARKER`."""
    step, home, rows = argv[0], Path(argv[1]), int(argv[2])
    if step == "prepare":
        out = _prepare(home, rows)
    elif step == "baseline":
        out = _baseline(home)
    else:
        out = _import(home)
    print(MARKER + json.dumps(out))


# -- harness side -----------------------------------------------------------------------


def _step(step: str, home: Path, rows: int, env: dict[str, str], log: Path) -> dict[str, Any]:
    with log.open("ab") as out:
        done = subprocess.run(
            [sys.executable, "-m", "bench.benchmarks.residents", step, str(home), str(rows)],
            env=env,
            cwd=runner.REPO_DIR,
            stdout=subprocess.PIPE,
            stderr=out,
            check=False,
            timeout=3600,
        )
    lines = [ln for ln in done.stdout.decode().splitlines() if ln.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"step {step} failed ({done.returncode}); see {log}")
    result: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
    return result


def run_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Prepare a scratch database of ``kind`` and time each step in its own process."""
    with tempfile.TemporaryDirectory(prefix="linli-bench-residents-") as tmp:
        home = Path(tmp)
        log = home / "steps.log"
        with databases.scratch(kind, home, pg_url=args.pg_url, name="bench_residents") as db:
            env = runner.linli_env(home, db.env, settings="linli.settings")
            prepared = _step("prepare", home, args.rows, env, log)
            steps = {name: _step(name, home, args.rows, env, log) for name in STEPS}
            return {"database": db.label, "rows": args.rows, "prepared": prepared, **steps}


def passed(result: dict[str, Any]) -> bool:
    """Tell whether every row was imported (and then unchanged) within the targets."""
    imported, again = result["import"], result["reimport"]
    return (
        imported["applied"] == result["rows"]
        and again["unchanged"] == result["rows"]
        and imported["seconds"] <= TARGET_SECONDS
        and imported["peak_mb"] < TARGET_MB
    )


def render(kind: str, result: dict[str, Any]) -> str:
    """Return the table of one database's figures."""
    base = result["baseline"]["seconds"]
    labels = {
        "baseline": "openpyxl reads the file (baseline)",
        "import": "import, all or nothing",
        "reimport": "import again (all unchanged)",
    }
    rows = [
        [
            labels[name],
            report.fmt_number(result[name]["seconds"], 2),
            report.fmt_number(report.ratio(result[name]["seconds"], base), 1),
            report.fmt_number(result[name]["seconds"] * 1000 / result["rows"], 2),
            report.fmt_number(result[name]["peak_mb"], 0),
        ]
        for name in STEPS
    ]
    table = report.format_table(["step", "s", "× baseline", "ms/row", "peak MB"], rows)
    imported = result["import"]
    verdict = "PASS" if passed(result) else "FAIL"
    return (
        f"{kind}: {result['database']}, {result['rows']:,} rows "
        f"({result['prepared']['file_bytes'] / 1e6:.1f} MB file)\n{table}\n"
        f"target (≤ {TARGET_SECONDS:g} s, < {TARGET_MB:g} MB): {verdict} "
        f"(applied {imported['applied']:,}; re-import unchanged "
        f"{result['reimport']['unchanged']:,})"
    )


@register(
    "residents",
    "import 10,000 residents from .xlsx against openpyxl reading the same file",
    configure,
)
def run(args: argparse.Namespace) -> int:
    """Run the residents benchmark on each chosen database; print and save the figures."""
    if args.quick:
        args.rows = min(args.rows, 1_000)
        if "--db" not in sys.argv:
            args.db = "sqlite"
    started = report.utc_now()
    results: dict[str, Any] = {}
    failed = False
    for kind in databases.kinds(args.db):
        results[kind] = run_database(kind, args)
        print(render(kind, results[kind]), flush=True)
        failed |= not passed(results[kind])
    path = report.write_results(
        "residents",
        {"targets": {"seconds": TARGET_SECONDS, "peak_mb": TARGET_MB}, "results": results},
        started_at=started,
        directory=args.results_dir,
    )
    print(f"results: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        child(sys.argv[1:])

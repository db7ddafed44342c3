"""The benchmark harness: wrk parsing, medians and ratios, options, and a tiny real run."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from bench import __main__ as bench_main
from bench import registry, report, wrk
from bench.benchmarks import access, access_mqtt
from bench.site import manage as bench_manage

pytestmark = pytest.mark.db_independent

REPO = Path(__file__).resolve().parent.parent


def run_bench(argv: list[str], results: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bench <argv>`` writing into ``results``; it must succeed."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", *argv, "--results-dir", str(results)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


WRK_OUTPUT = """\
Running 2s test @ http://127.0.0.1:8000/bench/noop
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    14.20ms    3.10ms  40.00ms   90.00%
  8000 requests in 2.00s, 1.50MB read
Requests/sec:   4000.00
Transfer/sec:    768.00KB
LINLI_BENCH requests=8000 duration_us=2000000 bytes=1572864 p50_us=13800 p90_us=15100 \
p99_us=17700 max_us=40000 mean_us=14200.5 connect_errors=0 read_errors=2 write_errors=0 \
status_errors=3 timeouts=1
"""


def test_parse_output_reads_the_done_hook_line() -> None:
    result = wrk.parse_output(WRK_OUTPUT)
    assert result.requests == 8000
    assert result.rps == pytest.approx(4000.0)
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (13.8, 15.1, 17.7)
    assert result.max_ms == 40.0
    assert result.mean_ms == pytest.approx(14.2005)
    assert (result.read_errors, result.status_errors, result.timeouts) == (2, 3, 1)
    assert result.errors == 6
    assert result.as_dict()["rps"] == 4000.0


def test_parse_output_without_the_hook_line_fails_loudly() -> None:
    with pytest.raises(wrk.WrkError, match="no LINLI_BENCH line"):
        wrk.parse_output("Requests/sec:   4000.00\n")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("LINLI_BENCH requests=10 duration_us=1000000", "missing p50_us"),
        ("LINLI_BENCH requests=ten", "non-numeric"),
        ("LINLI_BENCH requests", "malformed"),
    ],
)
def test_parse_output_rejects_damaged_lines(line: str, message: str) -> None:
    with pytest.raises(wrk.WrkError, match=message):
        wrk.parse_output(line)


def test_median_takes_the_middle_run_and_ratio_compares_with_the_baseline() -> None:
    assert report.median([1200.0, 900.0, 1100.0]) == 1100.0
    assert report.median([1.0, 2.0, 3.0, 10.0]) == 2.5
    runs = [
        {"rps": 1000.0, "p99_ms": 80.0},
        {"rps": 1200.0, "p99_ms": 60.0},
        {"rps": 1100.0, "p99_ms": 95.0},
    ]
    # Each figure's median on its own: p99 need not come from the median-rps run.
    assert report.medians(runs, ["rps", "p99_ms"]) == {"rps": 1100.0, "p99_ms": 80.0}
    assert report.ratio(1100.0, 2200.0) == 0.5
    assert report.ratio(5.0, 0.0) is None
    with pytest.raises(ValueError, match="no values"):
        report.median([])


def test_format_table_aligns_columns() -> None:
    table = report.format_table(["case", "req/s"], [["noop", "4,000"], ["one-query read", "950"]])
    lines = table.splitlines()
    assert lines[0] == "case            req/s"
    assert lines[2] == "noop            4,000"
    assert lines[3] == "one-query read    950"
    assert report.fmt_number(None) == "–"
    assert report.fmt_number(1234.5, 1) == "1,234.5"


def test_write_results_stamps_the_start_and_the_code(tmp_path: Path) -> None:
    started = report.utc_now()
    path = report.write_results("demo", {"x": 1}, started_at=started, directory=tmp_path)
    document = json.loads(path.read_text())
    assert path.name.startswith("demo-") and path.suffix == ".json"
    assert document["benchmark"] == "demo"
    assert document["x"] == 1
    assert document["started_at"] == started.isoformat(timespec="seconds")
    assert {"git_commit", "cpus", "python"} <= document["environment"].keys()


def _load_args(*argv: str) -> wrk.LoadSettings:
    parser = argparse.ArgumentParser()
    wrk.add_arguments(parser)
    return wrk.LoadSettings.from_args(parser.parse_args(list(argv)))


def test_quick_shortens_the_run_unless_told_otherwise() -> None:
    default = _load_args()
    assert (default.duration, default.repeat, default.warmup) == (20, 3, 2)
    assert (default.connections, default.threads, default.wrk_cpus) == (64, 2, "1")
    quick = _load_args("--quick")
    assert (quick.duration, quick.repeat, quick.warmup) == (5, 1, 1)
    assert _load_args("--quick", "--duration", "2").duration == 2
    assert _load_args("--warmup", "0").warmup == 0


def test_wrk_command_pins_and_sends_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/wrk")
    load = wrk.LoadSettings(wrk_cpus="1")
    cmd = wrk.command("http://127.0.0.1:9/x", load, 5, {"Authorization": "Bearer t"})
    assert cmd[:3] == ["taskset", "-c", "1"]
    assert cmd[3:7] == ["/usr/bin/wrk", "-t2", "-c64", "-d5s"]
    assert cmd[cmd.index("-H") : cmd.index("-H") + 2] == ["-H", "Authorization: Bearer t"]
    assert cmd[-1] == "http://127.0.0.1:9/x"
    assert cmd[cmd.index("-s") + 1].endswith("wrk_report.lua")
    assert wrk.command("http://127.0.0.1:9/x", wrk.LoadSettings(), 5, {})[0] == "/usr/bin/wrk"
    other = wrk.command(
        "http://127.0.0.1:9/x", load, 5, {}, script=access.SCRIPT, script_args=["b.txt", "2"]
    )
    assert other[other.index("-s") + 1].endswith("access_post.lua")
    # Script arguments come after the URL and "--", where wrk hands them to init(args).
    assert other[-4:] == ["http://127.0.0.1:9/x", "--", "b.txt", "2"]


def test_registry_lists_the_benchmarks(capsys: pytest.CaptureFixture[str]) -> None:
    assert {"access", "access-mqtt", "api"} <= registry.load().keys()
    assert bench_main.main(["--list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names[:3] == ["access", "access-mqtt", "api"]  # sorted by name


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.headers.get("Authorization") == "Bearer ok" else 401
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hello_server() -> Iterator[str]:
    """Serve a tiny HTTP endpoint on the loopback interface."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_the_lua_hook_reports_what_wrk_measured(hello_server: str) -> None:
    load = wrk.LoadSettings(duration=1, connections=2, threads=1, wrk_cpus="", settle=0)
    good = wrk.run(hello_server, load, headers={"Authorization": "Bearer ok"})
    assert good.requests > 0
    assert 0 < good.p50_ms <= good.p90_ms <= good.p99_ms <= good.max_ms
    assert good.status_errors == 0
    refused = wrk.run(hello_server, load, headers={})
    # wrk counts every 4xx/5xx answer: a benchmark can tell a wrong answer from a fast one.
    assert refused.requests > 0
    assert refused.status_errors == refused.requests


@pytest.mark.slow
def test_api_benchmark_runs_end_to_end_on_sqlite(tmp_path: Path) -> None:
    done = run_bench(["api", "--quick", "--duration", "2", "--db", "sqlite"], tmp_path)
    assert "target one_query ≥ 1,000 req/s with p99 ≤ 100 ms: " in done.stdout
    (path,) = tmp_path.glob("api-*.json")
    result = json.loads(path.read_text())["databases"]["sqlite"]
    assert set(result["cases"]) == {"noop", "cached", "one_query", "api"}
    for name, case in result["cases"].items():
        assert case["runs"][0]["requests"] > 0, name
        assert case["errors"] == 0, name
        assert case["profile"]["status"] == 200, name
    assert result["cases"]["noop"]["ratio_rps"] == 1.0
    assert result["cases"]["noop"]["profile"]["queries"] == 0
    assert result["cases"]["one_query"]["profile"]["queries"] == 1
    assert result["cases"]["api"]["profile"]["queries"] >= 2  # the token, then the community
    assert isinstance(result["target"]["pass"], bool)
    assert "token" not in json.dumps(result["fixture"])


def test_the_residents_benchmark_runs_end_to_end_and_meets_its_targets() -> None:
    """A quick run (1,000 rows, SQLite) of ``python -m bench residents`` as a user runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "residents", "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "import, all or nothing" in done.stdout
    assert (
        "target (≤ 60 s, < 500 MB): PASS (applied 1,000; re-import unchanged 1,000)" in done.stdout
    )


def test_the_mqtt_benchmark_sends_valid_messages_and_judges_its_targets() -> None:
    from bench.benchmarks import mqtt as bench_mqtt

    from linli.devices import protocol

    raw = bench_mqtt.message("bench-dev-0007", "r1-bench-dev-0007-3", 1_764_300_000_000)
    parsed = protocol.TelemetryMessage.model_validate_json(raw)
    assert parsed.device_id == "bench-dev-0007" and parsed.ts == 1_764_300_000_000
    assert bench_mqtt.topic("bench-dev-0007") == "linli/v1/bench/bench-dev-0007/up/telemetry"
    assert bench_mqtt._shares(10, 3) == [4, 3, 3]

    def case(name: str, rate: float, **extra: float) -> dict[str, object]:
        figures = dict.fromkeys(
            ["cpu_broker_s", "cpu_consumers_s", "cpu_publisher_s", "load_average"], 1.0
        )
        if name == "gateway-2":
            figures.update(p50_ms=5.0, p99_ms=9.0, max_ms=10.0, cpu_postgres_s=1.0)
            figures.update(sent=100, stored=100, distinct=100)
        return {"case": name, "load": "b", "rate": rate, **figures, **extra}

    runs = [case("noop-1", 9_000), case("noop-2", 10_000), case("gateway-2", 8_500)]
    summary = bench_mqtt.summarise(runs, "b")
    verdict = bench_mqtt.verdicts(summary, "b")
    assert verdict["ratio"] == pytest.approx(0.85)
    assert verdict["ratio_ok"] and verdict["exact"] and verdict["rate_ok"]
    table = bench_mqtt.render("b", summary, 200)
    assert "target ≥ 8,000 msgs/s stored: PASS (8,500)" in table
    runs[2].update(rate=7_000, distinct=99)  # one message lost: exactness fails too
    verdict = bench_mqtt.verdicts(bench_mqtt.summarise(runs, "b"), "b")
    assert not (verdict["ratio_ok"] or verdict["exact"] or verdict["rate_ok"])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("mosquitto_pub") is None, reason="mosquitto is not installed")
def test_the_mqtt_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    """``python -m bench mqtt --quick`` (needs PostgreSQL on 127.0.0.1; about a minute)."""
    argv = ["mqtt", "--quick", "--messages", "2000", "--results-dir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if "could not connect" in done.stderr or "Connection refused" in done.stderr:
        pytest.skip("no PostgreSQL server on 127.0.0.1")
    assert done.returncode in (0, 1), done.stdout + done.stderr[-3000:]  # 1: a target missed
    assert "target sent = stored, no duplicates: PASS" in done.stdout
    (path,) = tmp_path.glob("mqtt-*.json")
    result = json.loads(path.read_text())
    assert len(result["runs"]) == 8  # 4 cases × 2 loads
    for run in result["runs"]:
        assert run["sent"] == 2000 and run["rate"] > 0, run
        if run["case"] == "gateway-2":
            assert run["stored"] == run["distinct"] == 2000 and not run["refused"], run
            assert 0 < run["p50_ms"] <= run["p99_ms"]
        else:
            assert run["received"] >= 2000, run
    assert set(result["verdicts"]) == {"a", "b"}


# The access benchmark ------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str | None, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _Recorder.seen.append((self.headers.get("Authorization"), body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # wrk drops its connections mid-request when the run ends


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_the_post_script_sends_each_body_once_per_thread_share(tmp_path: Path) -> None:
    server = _QuietServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.seen = []
    # Far more lines than a second of this tiny server gets through: none may come twice.
    gates = [{"point": f"gate-{n}", "device": f"reader-{n}", "secret": "s"} for n in range(3)]
    lines = access.bodies_lines(gates, "qr", [f"LP1:{i}" for i in range(20_000)])
    lines[1] = '{"point": "gate-1", "method": "qr", "value": "no-auth"}'  # a body alone
    path = tmp_path / "bodies.txt"
    path.write_text("\n".join(lines) + "\n")
    load = wrk.LoadSettings(duration=1, connections=2, threads=2, wrk_cpus="", settle=0)
    try:
        result = wrk.run(
            f"http://127.0.0.1:{server.server_address[1]}/decide",
            load,
            headers={},
            script=access.SCRIPT,
            script_args=[str(path), "2"],
        )
    finally:
        server.shutdown()
        server.server_close()
    assert 0 < result.requests < len(lines)
    assert result.status_errors == 0  # the report hook of wrk_report.lua is kept
    bodies = [body for _auth, body in _Recorder.seen]
    assert len(bodies) == len(set(bodies))  # the two threads never share a pass
    sent = {json.loads(body)["value"]: auth for auth, body in _Recorder.seen}
    # wrk calls request() once on thread 0 to check the script: its first line is not sent.
    assert "LP1:0" not in sent
    assert sent["LP1:2"] == "Bearer reader-2:s"  # each line's own terminal
    assert sent["LP1:3"] == "Bearer reader-0:s"
    assert sent["LP1:4"] == "Bearer reader-1:s"
    assert sent["no-auth"] is None  # a line without a tab is a body alone


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_a_pause_paces_each_connection(tmp_path: Path) -> None:
    server = _QuietServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    gates = [{"point": "gate-0", "device": "reader-0", "secret": "s"}]
    path = tmp_path / "bodies.txt"
    path.write_text("\n".join(access.bodies_lines(gates, "card", ["AA01"] * 1000)) + "\n")
    load = wrk.LoadSettings(duration=2, connections=2, threads=2, wrk_cpus="", settle=0)
    url = f"http://127.0.0.1:{server.server_address[1]}/decide"
    try:
        flat_out = wrk.run(
            url, load, headers={}, script=access.SCRIPT, script_args=[str(path), "2"]
        )
        paced = wrk.run(
            url, load, headers={}, script=access.SCRIPT, script_args=[str(path), "2", "100"]
        )
    finally:
        server.shutdown()
        server.server_close()
    # Two connections, each waiting 100 ms after an answer: at most 2 × 10 requests a second.
    assert 10 <= paced.rps <= 21
    assert flat_out.rps > 5 * paced.rps


def test_access_request_lines_pair_values_with_terminals_in_turn() -> None:
    gates = [{"point": f"gate-{n}", "device": f"reader-{n}", "secret": "s3"} for n in range(2)]
    lines = access.bodies_lines(gates, "card", ["AA01", "AA02", "AA03"])
    auths = [line.split("\t")[0] for line in lines]
    assert auths == ["Bearer reader-0:s3", "Bearer reader-1:s3", "Bearer reader-0:s3"]
    body = json.loads(lines[1].split("\t")[1])
    assert body == {"point": "gate-1", "method": "card", "value": "AA02"}
    # Enough passes for a run at the generous rate, or twice the warm-up's if higher.
    assert access.pass_count(20, 3000, None) == 60_200
    assert access.pass_count(20, 3000, 2500.0) == 100_200
    assert access.pass_count(20, 3000, 100.0) == 60_200
    assert len({bench_manage.resident_pin(i) for i in range(5000)}) == 5000
    assert all(len(bench_manage.resident_pin(i)) == 6 for i in range(0, 5000, 7))
    assert len({bench_manage.card_uid(i) for i in range(5000)}) == 5000


def test_access_counts_every_event_that_is_not_an_allowed_decision() -> None:
    assert access.unexpected({"qr": {"allowed": 900}}, "qr") == {}
    counts = {"qr": {"allowed": 900, "replayed": 12}, "card": {"allowed": 3}}
    assert access.unexpected(counts, "qr") == {"qr/replayed": 12, "card/allowed": 3}


def _result(rps: float, p99: float) -> wrk.WrkResult:
    return wrk.WrkResult(
        requests=int(rps * 20), duration_s=20, p50_ms=p99 / 3, p90_ms=p99 / 2, p99_ms=p99,
        max_ms=p99 * 2, mean_ms=p99 / 3,
    )  # fmt: skip


def test_access_summary_judges_each_paced_method_against_the_target() -> None:
    runs = {
        "noop-direct": [_result(2000, 4), _result(2200, 5), _result(2100, 6)],
        "noop": [_result(1500, 9), _result(1400, 11), _result(1600, 10)],
        "card": [_result(1200, 8), _result(1000, 9.5), _result(1100, 12)],
        "pin": [_result(990, 5), _result(995, 6), _result(980, 5)],
        "qr": [_result(1300, 11), _result(1300, 11), _result(1300, 11)],
    }
    logged = {
        name: [{"counts": {c.method: {"allowed": 10}} if c.method else {}, "unexpected": {}}] * 3
        for name, c in ((c.name, c) for c in access.CASES)
    }
    logged["qr"] = [
        {"counts": {"qr": {"allowed": 10, "replayed": 2}}, "unexpected": {"qr/replayed": 2}}
    ] * 3
    flat_out = access.summarise(runs, logged)
    assert all("pass" not in c for c in flat_out.values())  # the capacity is not judged
    runs |= {access.run_key(k, access.PACED): v for k, v in runs.items()}
    logged |= {access.run_key(k, access.PACED): v for k, v in logged.items()}
    cases = access.summarise(runs, logged, access.PACED)
    assert cases["noop-direct"]["ratio_rps"] == 1.0 and "pass" not in cases["noop-direct"]
    assert cases["noop"]["ratio_rps"] == pytest.approx(1500 / 2100) and "pass" not in cases["noop"]
    assert cases["card"]["median"]["rps"] == 1100 and cases["card"]["pass"]  # p99 median 9.5
    assert cases["card"]["ratio_rps"] == pytest.approx(1100 / 2100)
    assert not cases["pin"]["pass"]  # fast enough latency, too few decisions per second
    assert not cases["qr"]["pass"]  # enough decisions, p99 over 10 ms
    assert cases["qr"]["allowed"] == 30 and cases["qr"]["not_allowed"] == {"qr/replayed": 6}


def test_access_offline_ratios_and_timing_summaries() -> None:
    data = {
        "runs": {
            "raw_ed25519": [{"per_second": 7000, "per_cpu_second": 8000}] * 3,
            "passes_verify": [{"per_second": 6000, "per_cpu_second": 6000}] * 3,
            "terminal_verify_decide": [{"per_second": 5000, "per_cpu_second": 4000}] * 3,
        },
        "rounds": 3,
        "seconds": 2.0,
        "burst_2000_same_second_per_second": 3000.0,
    }
    summary = access.summarise_offline(data)["median"]
    assert summary["raw_ed25519"]["ratio"] == 1.0
    assert summary["passes_verify"]["ratio"] == 0.75
    assert summary["terminal_verify_decide"]["ratio"] == 0.5
    rendered = access.render_offline(data)
    assert "OfflineTerminal.verify_pass + decide" in rendered
    assert rendered.splitlines()[-2].split()[-3:] == ["4,000", "5,000", "0.50"]
    timing = bench_manage.timing_summary([0.001] * 98 + [0.002, 0.010])
    assert timing["p50_us"] == 1000.0 and timing["p99_us"] == 2000.0
    assert timing["max_us"] == 10000.0 and timing["mean_us"] == pytest.approx(1100.0)
    assert timing["per_second"] == pytest.approx(909.1, abs=0.1)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_access_benchmark_runs_end_to_end_on_sqlite(tmp_path: Path) -> None:
    argv = ["access", "--quick", "--duration", "2", "--db", "sqlite", "--workers", "1"]
    argv += ["--residents", "60", "--credentials", "30", "--points", "3"]
    done = run_bench(argv, tmp_path)
    assert "target decide qr ≥ 1,000 decisions/s with p99 ≤ 10 ms: " in done.stdout
    assert "HTTP: `linli serve` (granian, workers: 1); medians of" in done.stdout
    (path,) = tmp_path.glob("access-*.json")
    text = path.read_text()
    result = json.loads(text)
    sqlite = result["databases"]["sqlite"]
    assert sqlite["server"] == {"name": "granian", "workers": 1}
    assert (
        set(sqlite["cases"]) == set(sqlite["paced"]) == {"noop-direct", "noop", "card", "pin", "qr"}
    )
    for name, case in [*sqlite["cases"].items(), *sqlite["paced"].items()]:
        assert case["runs"][0]["requests"] > 0, name
        assert case["errors"] == 0 and case["not_allowed"] == {}, name
        assert name in access.BASELINES or case["allowed"] > 0, name
    assert all("pass" in sqlite["paced"][m] for m in ("card", "pin", "qr"))
    for method in ("card", "pin", "qr"):
        decide = sqlite["inproc"]["decide"][method]
        assert set(decide["reasons"]) == {"allowed"}, method
        # One read and one write; on SQLite a pass adds its nonce and the transaction.
        assert decide["queries"] == (4 if method == "qr" else 2), method
        assert sqlite["inproc"]["http"][method]["status"] == 200, method
    assert sqlite["inproc"]["profile"]["qr"]["pieces"][0]["share"] == 1.0
    assert result["offline"]["median"]["raw_ed25519"]["ratio"] == 1.0
    # Terminals' secrets, card UIDs and PINs stay in the temporary directory.
    assert '"secret"' not in text and "Bearer" not in text
    assert not {"gates", "cards", "pins"} & sqlite["fixture"].keys()


def _mqtt_run(rps: float, p99: float, reasons: dict[str, int]) -> dict[str, Any]:
    return {"rps": rps, "p50_ms": p99 / 3, "p90_ms": p99 / 2, "p99_ms": p99, "max_ms": p99,
            "reasons": reasons}  # fmt: skip


def test_access_mqtt_summary_compares_the_gateway_with_its_baseline() -> None:
    runs = {
        "noop": [_mqtt_run(3000, 4, {"allow/noop": 9000})] * 3,
        "gateway": [_mqtt_run(600, 30, {"allow/allowed": 1800})] * 2
        + [_mqtt_run(900, 20, {"allow/allowed": 1700, "deny/replayed": 3})],
        "paced noop": [_mqtt_run(1000, 3, {"allow/noop": 3000})],
        "paced gateway": [_mqtt_run(700, 40, {"allow/allowed": 2100})],
    }
    cases = access_mqtt.summarise(runs)
    assert cases["gateway"]["median"]["rps"] == 600
    assert cases["gateway"]["ratio_rps"] == pytest.approx(0.2)
    assert cases["paced gateway"]["ratio_rps"] == pytest.approx(0.7)
    assert cases["gateway"]["unexpected"] == {"deny/replayed": 3}
    assert cases["noop"]["unexpected"] == {} and cases["paced gateway"]["unexpected"] == {}


@pytest.mark.slow
def test_access_mqtt_benchmark_runs_end_to_end_on_sqlite(tmp_path: Path) -> None:
    argv = ["access-mqtt", "--quick", "--db", "sqlite", "--residents", "100"]
    run_bench(argv, tmp_path)
    (path,) = tmp_path.glob("access-mqtt-*.json")
    text = path.read_text()
    cases = json.loads(text)["databases"]["sqlite"]["cases"]
    assert set(cases) == {"noop", "gateway", "paced noop", "paced gateway"}
    for name, case in cases.items():
        assert case["median"]["rps"] > 0 and case["unexpected"] == {}, name
    assert '"secret"' not in text


def test_the_biometrics_search_proposal_answers_as_search_does_and_the_door_is_judged() -> None:
    import numpy as np
    from bench.benchmarks import biometrics as bench_bio

    from linli.biometrics.search import Gallery, search

    rng = np.random.default_rng(3)
    rows = rng.normal(0, 0.09, (50, 128)).astype(np.float32)
    persons = np.repeat(np.arange(1, 26, dtype=np.int64), 2)  # two templates a person
    gallery = Gallery(1, "face", "e", "euclidean", 1, persons, persons + 100, rows)
    norms = np.einsum("ij,ij->i", rows, rows)
    probes = [rows[7] + 0.01, rows[7] + 10, (rows[0] + rows[2]) / 2]
    for probe in probes:
        expected = search(gallery, probe, threshold=0.46, margin=0.05)
        row, distance, runner_up = bench_bio.proposed_search(
            rows, norms, persons, probe.astype(np.float32), 0.46, 0.05
        )
        assert (None if row is None else int(persons[row])) == expected.person_id
        assert distance == pytest.approx(expected.distance, abs=1e-4)
        assert runner_up == pytest.approx(expected.runner_up, abs=1e-4)

    def door(p95: float, outcomes: dict[str, int]) -> dict[str, Any]:
        median = {f"decide_face {form}": {"p95_ms": p95} for form in ("crop", "frame")}
        return {"median": median, "outcomes_all_reps": {"crop": outcomes, "frame": {}}}

    assert bench_bio.door_passed(door(290, {"allowed (right person)": 9}))
    assert not bench_bio.door_passed(door(310, {"allowed (right person)": 9}))
    assert not bench_bio.door_passed(door(100, {"WRONG PERSON": 1}))


@pytest.mark.slow
def test_biometrics_benchmark_runs_end_to_end_on_sqlite(tmp_path: Path) -> None:
    from tests.shared_data import shared

    argv = ["biometrics", "--quick", "--faces", str(shared("faces")), "--gallery", "100"]
    argv += ["--decisions", "20", "--sizes", "20000", "--photos", "60", "--sample", "20"]
    done = run_bench(argv, tmp_path)
    assert "target decide_face p95 ≤ 300 ms, nobody taken for someone else: " in done.stdout
    (path,) = tmp_path.glob("biometrics-*.json")
    result = json.loads(path.read_text())
    door = result["door"]["sqlite"]
    assert door["prepared"]["templates_real"] >= 25
    assert door["prepared"]["templates_real"] + door["prepared"]["templates_synthetic"] >= 90
    for form in ("crop", "frame"):
        assert "WRONG PERSON" not in door["outcomes_all_reps"][form]
        assert door["outcomes_all_reps"][form]["allowed (right person)"] >= 10
    assert door["queries_per_decision"] >= 1
    assert result["search"]["sizes"]["20000"]["answers_agree"] == "20/20"
    runs = result["enrol"]["sqlite"]["runs"]
    assert {name: run["workers"] for name, run in runs.items()} == {
        "inproc": 0,
        "one_worker": 1,
        "batch": 2,
    }
    assert runs["batch"]["photos"] == 60 and runs["batch"]["counts"]["enrolled"] >= 50
    assert runs["batch"]["restarts"] == 0

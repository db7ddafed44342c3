"""``access-mqtt``: access decisions over MQTT (the gateway decides and replies), beside a
do-nothing responder on the same broker, per database.

One run per database: a scratch database seeded as for ``access`` (gates, each with its own
terminal, residents with cards), a private Mosquitto on the configuration ``linli
broker-config`` writes from that registry (per-device passwords and ACLs), and the
terminals: one process driving one paho connection per terminal from a select loop. A
terminal publishes an ``access_request`` (QoS 1, a card, in turn), waits for the
``access_decision`` on its own ``down/access_decision`` topic, notes the round trip, and
asks again, at once (**flat out**, ``--terminals``) or after a pause (**paced**, as in
``access``: :data:`PACED_TERMINALS` terminals pausing :data:`PAUSE_MS` ms).

Two responders, in turn on the same shared subscription:

- **do-nothing** (the baseline): one paho process answering each request at once with a
  fixed ``allow``: the broker, the terminals' process and Python MQTT alone;
- **linli gateway** (``--gateways`` processes, default 2): each request stored, decided and
  logged in one transaction, answered after the commit (``--batch 500 --flush-ms 50``: a
  request does not wait for a batch to fill).

Figures: decisions/s and p50/p90/p99 of the round trip (publish → answer received), the
answers by reason (anything but ``allowed`` from the gateway is a failed run). The terminals'
Python process shares the two cores with the broker, the gateways and the database.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import databases, report
from bench.benchmarks.mqtt import (
    GATEWAY_USER,
    GROUP,
    marked_result,
    read_text,
    running_broker,
    start_gateways,
)
from bench.registry import register
from bench.server import free_port
from bench.site import runner

NAME = "access-mqtt"
MARKER = "LINLI_BENCH_ACCESS_MQTT"
PACED_TERMINALS = 40
PAUSE_MS = 36
RESPONDERS = ("noop", "gateway")
LABELS = {"noop": "do-nothing responder (baseline)", "gateway": "linli gateway"}


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``access-mqtt`` benchmark's options."""
    databases.add_arguments(parser)
    parser.add_argument("--duration", type=float, default=15, help="seconds per run (15)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per case (3)")
    parser.add_argument("--terminals", type=int, default=8, help="terminals flat out (8)")
    parser.add_argument("--residents", type=int, default=600, help="residents seeded (600)")
    parser.add_argument("--gateways", type=int, default=2, help="gateway processes (2)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s, 1 repetition")
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=report.RESULTS_DIR,
        help="where the JSON results go (default bench/results/)",
    )


# -- children -----------------------------------------------------------------------------


def _emit(result: dict[str, Any]) -> None:
    print(MARKER, json.dumps(result), flush=True)


def _noop_responder(port: int, password: str, client_id: str) -> dict[str, Any]:
    """Answer every request at once with a fixed ``allow`` until SIGTERM."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    answered = {"count": 0}
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(GATEWAY_USER, password)

    def on_connect(c: mqtt.Client, u: Any, flags: Any, reason: Any, props: Any) -> None:
        c.subscribe(f"$share/{GROUP}/linli/v1/+/+/up/access_request", qos=1)

    def on_subscribe(c: mqtt.Client, u: Any, mid: int, codes: Any, props: Any) -> None:
        print("ready", flush=True)

    def on_message(c: mqtt.Client, u: Any, m: mqtt.MQTTMessage) -> None:
        request = json.loads(m.payload)
        root = m.topic.rsplit("/up/", 1)[0]
        answer = {
            "type": "access_decision",
            "payload": {"request_msg_id": request["msg_id"], "result": "allow", "reason": "noop"},
        }
        c.publish(f"{root}/down/access_decision", json.dumps(answer), qos=1)
        answered["count"] += 1

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect("127.0.0.1", port, keepalive=30, clean_start=True)
    client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.loop_start()
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda s, f: stop.update(now=True))
    while not stop["now"]:
        time.sleep(0.1)
    client.disconnect()
    client.loop_stop()
    return {**answered, "cpu_s": time.process_time()}


def _terminals(spec: dict[str, Any]) -> dict[str, Any]:
    """Drive one connection per terminal; return the round trips and the answers' reasons."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    gates = spec["gates"][: spec["terminals"]]
    cards: list[str] = spec["cards"]
    pause = spec["pause_ms"] / 1000
    port, community, run = spec["port"], spec["community"], spec["run"]
    n = len(gates)
    connected: set[int] = set()
    subscribed: set[int] = set()
    sent_at = [0.0] * n
    waiting = [""] * n  # the msg_id a terminal waits an answer for
    next_at = [0.0] * n
    seq = [0] * n
    rtts: list[float] = []
    reasons: dict[str, int] = {}
    clients: list[mqtt.Client] = []
    state = {"measuring": False}

    def on_connect(c: mqtt.Client, i: int, flags: Any, reason: Any, props: Any) -> None:
        if not reason.is_failure:
            connected.add(i)
            # As a terminal should: its request goes out at once, not after a delayed ACK.
            c.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.subscribe(f"linli/v1/{community}/{gates[i]['device']}/down/access_decision", qos=1)

    def on_subscribe(c: mqtt.Client, i: int, mid: int, codes: Any, props: Any) -> None:
        subscribed.add(i)

    def on_message(c: mqtt.Client, i: int, m: mqtt.MQTTMessage) -> None:
        answer = json.loads(m.payload)["payload"]
        if answer.get("request_msg_id") != waiting[i]:
            return  # a late answer to a request of the warm-up
        now = time.perf_counter()
        if state["measuring"]:
            rtts.append(now - sent_at[i])
            key = f"{answer.get('result')}/{answer.get('reason')}"
            reasons[key] = reasons.get(key, 0) + 1
        waiting[i] = ""
        next_at[i] = now + pause

    for i, gate in enumerate(gates):
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{gate['device']}-{run}",
            protocol=mqtt.MQTTv311,
            userdata=i,
        )
        c.username_pw_set(gate["device"], gate["secret"])
        c.on_connect = on_connect
        c.on_subscribe = on_subscribe
        c.on_message = on_message
        c.connect("127.0.0.1", port, keepalive=60)
        clients.append(c)
    by_sock = {c.socket(): c for c in clients}
    deadline = time.monotonic() + 20
    while len(subscribed) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(subscribed)} of {n} terminals subscribed")
        writers = [s for s, c in by_sock.items() if c.want_write()]
        readable, writable, _ = select.select(list(by_sock), writers, [], 0.1)
        for s in writable:
            by_sock[s].loop_write()
        for s in readable:
            by_sock[s].loop_read(10)
    topics = [f"linli/v1/{community}/{g['device']}/up/access_request" for g in gates]
    warmup_end = time.perf_counter() + spec["warmup"]
    end = warmup_end + spec["duration"]
    started = 0.0
    misc_at = time.monotonic() + 1
    card = 0
    while True:
        now = time.perf_counter()
        if not state["measuring"] and now >= warmup_end:
            state["measuring"], started = True, now
        if now >= end:
            break
        for i, c in enumerate(clients):
            if not waiting[i] and now >= next_at[i]:
                seq[i] += 1
                msg_id = f"{run}-{i}-{seq[i]}"
                body = {
                    "msg_id": msg_id,
                    "device_id": gates[i]["device"],
                    "ts": int(time.time() * 1000),
                    "type": "access_request",
                    "payload": {"point": gates[i]["point"], "method": "card", "value": cards[card]},
                }
                card = (card + 1) % len(cards)
                waiting[i], sent_at[i] = msg_id, time.perf_counter()
                c.publish(topics[i], json.dumps(body), qos=1)
        due = [next_at[i] - now for i in range(n) if not waiting[i]]
        timeout = max(0.0, min(due)) if due else 0.05
        writers = [s for s, c in by_sock.items() if c.want_write()]
        readable, writable, _ = select.select(list(by_sock), writers, [], min(timeout, 0.05))
        for s in writable:
            by_sock[s].loop_write()
        for s in readable:
            by_sock[s].loop_read(10)
        if time.monotonic() > misc_at:
            misc_at = time.monotonic() + 1
            for c in clients:
                c.loop_misc()
    elapsed = time.perf_counter() - started
    for c in clients:
        c.disconnect()
    rtts.sort()
    return {
        "decisions": len(rtts),
        "seconds": round(elapsed, 3),
        "rps": round(len(rtts) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(report.percentile(rtts, 50) * 1000, 2),
        "p90_ms": round(report.percentile(rtts, 90) * 1000, 2),
        "p99_ms": round(report.percentile(rtts, 99) * 1000, 2),
        "max_ms": round(rtts[-1] * 1000, 2) if rtts else 0.0,
        "reasons": reasons,
        "cpu_s": round(time.process_time(), 2),
    }


def child(argv: list[str]) -> None:
    """Run one child role and print its JSON result after :data:`MARKER`."""
    role = argv[0]
    if role == "noop":
        _emit(_noop_responder(int(argv[1]), argv[2], argv[3]))
    elif role == "terminals":
        _emit(_terminals(json.load(sys.stdin)))
    else:
        raise SystemExit(f"unknown role {role!r}")


# -- harness side -------------------------------------------------------------------------


def _child_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench.benchmarks.access_mqtt", *args]


def _start_noop(env: dict[str, str], port: int, password: str, log: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        _child_argv("noop", str(port), password, f"bench-noop-{os.getpid()}"),
        env=env,
        cwd=runner.REPO_DIR,
        stdout=subprocess.PIPE,
        stderr=log.open("ab"),
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the do-nothing responder did not subscribe; see {log}")
    return process


def _stop(processes: list[Any]) -> None:
    for p in processes:
        p.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _drive(env: dict[str, str], spec: dict[str, Any], log: Path) -> dict[str, Any]:
    done = subprocess.run(
        _child_argv("terminals"),
        env=env,
        cwd=runner.REPO_DIR,
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=spec["warmup"] + spec["duration"] + 120,
        check=False,
    )
    with log.open("a") as f:
        f.write(done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"the terminals failed:\n{done.stderr[-2000:]}")
    return marked_result(done.stdout, MARKER)


def run_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Seed a scratch database of ``kind`` and a broker; run each responder and pace."""
    home = Path(tempfile.mkdtemp(prefix=f"linli-bench-access-mqtt-{kind}-"))
    log = home / "bench.log"
    duration, repeat, warmup = (3.0, 1, 1.0) if args.quick else (args.duration, args.repeat, 2.0)
    terminals = max(args.terminals, PACED_TERMINALS)
    try:
        with databases.scratch(
            kind, home, pg_url=args.pg_url, name=f"linli_bench_access_mqtt_{os.getpid()}"
        ) as db:
            print(f"[{kind}] {db.label}: migrating and seeding …", flush=True)
            env = runner.linli_env(home, db.env)
            data = runner.run_step(
                [
                    "prepare-access",
                    "--residents",
                    str(args.residents),
                    "--points",
                    str(terminals),
                    "--credentials",
                    str(args.residents // 2),
                ],
                env,
                log,
            )
            gates, cards = data.pop("gates"), data.pop("cards")
            data.pop("pins")
            port, password = free_port(), os.urandom(12).hex()
            broker_dir = home / "broker"
            subprocess.run(
                [
                    *(sys.executable, "-m", "linli.cli", "broker-config", "--dir", str(broker_dir)),
                    *("--broker", f"mqtt://{GATEWAY_USER}:{password}@127.0.0.1:{port}"),
                    *("--listen", f"127.0.0.1:{port}"),
                ],
                env=env,
                cwd=runner.REPO_DIR,
                check=True,
                capture_output=True,
            )
            runs: dict[str, list[dict[str, Any]]] = {}
            with running_broker(broker_dir, port):
                for responder in RESPONDERS:
                    if responder == "noop":
                        processes: list[Any] = [_start_noop(env, port, password, log)]
                    else:
                        processes, _ids = start_gateways(
                            env, port, password, home, str(os.getpid())
                        )
                    try:
                        for rep in range(1, repeat + 1):
                            for pace, count, pause in (
                                ("", args.terminals, 0),
                                ("paced", PACED_TERMINALS, PAUSE_MS),
                            ):
                                key = f"{pace} {responder}".strip()
                                spec = {
                                    "gates": gates,
                                    "cards": cards,
                                    "terminals": count,
                                    "pause_ms": pause,
                                    "port": port,
                                    "community": data["community_code"],
                                    "run": f"{key.replace(' ', '-')}-{rep}",
                                    "duration": duration,
                                    "warmup": warmup,
                                }
                                result = _drive(env, spec, log)
                                runs.setdefault(key, []).append(result)
                                print(
                                    f"[{kind}] run {rep}/{repeat} {key:<15}"
                                    f" {result['rps']:8,.0f}/s  p50 {result['p50_ms']:6.2f}"
                                    f"  p99 {result['p99_ms']:6.2f} ms  {result['reasons']}",
                                    flush=True,
                                )
                    finally:
                        _stop(processes)
    except BaseException:
        kept = args.results_dir / f"{NAME}-{kind}-failed.log"
        kept.parent.mkdir(parents=True, exist_ok=True)
        for path in [log, *home.glob("bench-gw-*.log")]:
            if path.exists():
                with kept.open("a") as out:
                    out.write(f"== {path.name}\n{read_text(path)}")
        print(f"[{kind}] failed; the logs are in {kept}", file=sys.stderr)
        raise
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {"database": db.label, "fixture": data, "cases": summarise(runs)}


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Return each case's runs, medians, the ratio to its baseline and the unexpected answers."""
    cases: dict[str, dict[str, Any]] = {}
    for key, results in runs.items():
        median = report.medians(results, ("rps", "p50_ms", "p90_ms", "p99_ms", "max_ms"))
        reasons: dict[str, int] = {}
        for r in results:
            for reason, n in r["reasons"].items():
                reasons[reason] = reasons.get(reason, 0) + n
        expected = "allow/noop" if key.endswith("noop") else "allow/allowed"
        cases[key] = {
            "runs": results,
            "median": {k: round(v, 2) for k, v in median.items()},
            "reasons": reasons,
            "unexpected": {k: n for k, n in reasons.items() if k != expected},
        }
    for key, entry in cases.items():
        base = cases.get(key.replace("gateway", "noop"))
        if base:
            entry["ratio_rps"] = report.ratio(entry["median"]["rps"], base["median"]["rps"])
    return cases


def render(kind: str, result: dict[str, Any], args: argparse.Namespace) -> str:
    """Return the table of one database's cases."""
    rows = []
    for pace in ("", "paced"):
        for responder in RESPONDERS:
            key = f"{pace} {responder}".strip()
            entry = result["cases"][key]
            m = entry["median"]
            rows.append(
                [
                    f"{'paced' if pace else 'flat out'}: {LABELS[responder]}",
                    report.fmt_number(m["rps"]),
                    report.fmt_number(entry.get("ratio_rps"), 2),
                    report.fmt_number(m["p50_ms"], 2),
                    report.fmt_number(m["p90_ms"], 2),
                    report.fmt_number(m["p99_ms"], 2),
                    str(sum(entry["unexpected"].values())),
                ]
            )
    table = report.format_table(
        ["case", "decisions/s", "×base", "p50 ms", "p90 ms", "p99 ms", "not allowed"], rows
    )
    return "\n".join(
        [
            f"== access decisions over MQTT on {kind}: {result['database']}",
            f"   {result['fixture']['seeded']}",
            f"   {args.gateways} gateway processes; flat out: {args.terminals} terminals asking "
            "again at once; paced: "
            f"{PACED_TERMINALS} terminals pausing {PAUSE_MS} ms after an answer; round trip = "
            "publish → answer received",
            table,
        ]
    )


@register(NAME, "access decisions over MQTT: gateway vs a do-nothing responder", configure)
def run(args: argparse.Namespace) -> int:
    """Run the ``access-mqtt`` benchmark; print and save the figures."""
    started = report.utc_now()
    results: dict[str, Any] = {}
    rendered = []
    for kind in databases.kinds(args.db):
        results[kind] = run_database(kind, args)
        rendered.append(render(kind, results[kind], args))
        print("\n" + rendered[-1] + "\n", flush=True)
    path = report.write_results(
        NAME,
        {
            "paced": {"terminals": PACED_TERMINALS, "pause_ms": PAUSE_MS},
            "terminals": args.terminals,
            "gateways": args.gateways,
            "databases": results,
            "load_average": os.getloadavg(),
        },
        started_at=started,
        directory=args.results_dir,
    )
    print("\n\n".join(rendered))
    print(f"\nresults: {path}")
    bad = [k for k, r in results.items() if any(c["unexpected"] for c in r["cases"].values())]
    if bad:
        print(f"error: answers other than allowed on {bad}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    child(sys.argv[1:])

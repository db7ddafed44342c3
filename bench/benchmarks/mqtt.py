"""The mqtt benchmark: sustained MQTT ingest into PostgreSQL against a do-nothing subscriber.

One run: a scratch PostgreSQL database ``bench_mqtt``, migrated, with a seeded community
and 1,000 devices whose secrets go to a file for the publishers; a private Mosquitto with
the configuration ``linli broker-config`` writes (per-device passwords and ACLs). Then,
for each load and each repetition, three consumers in turn on the same shared subscription
(``$share/linli/linli/v1/+/+/up/#``, as the gateway account):

- **do-nothing, 1 process** and **do-nothing, 2 processes** (the baseline): paho-mqtt,
  MQTT 5, QoS 1, manual acknowledgement sent as soon as a message arrives, nothing else;
- **do-nothing on the gateway's MQTT client, 2 processes**: the same with
  :mod:`linli.devices.mqtt5` (what the gateway reads with), acknowledging each read's
  messages in one write: how fast the broker can hand messages to the gateway's own
  transport, shown beside the baseline;
- **gateway, 2 processes**: ``linli gateway --batch 500 --flush-ms 50``, each message
  stored through ``ingest.accept`` and acknowledged after the commit.

The loads, each sending the same number of messages (QoS 1, ~200-byte JSON telemetry, the
publish time in ``ts``), every device on its own topic with its own credentials:

- **A, Python**: one process driving ``--py-devices`` paho connections from one select
  loop, at most 20 unacknowledged messages per connection, as fast as the broker acks;
- **B, C**: ``mosquitto_pub -l -q 1`` per device (``--c-devices``), each fed its lines
  through a one-page pipe by a small feeder that stamps ``ts`` when it writes the line
  (a pre-generated file would carry the time it was written, not the time it was sent).

Figures per case: messages/s received (do-nothing: from the first publish to the last
message received) or stored (gateway: from the first publish to the moment the database
holds every message); for the gateway, p50/p99 of ``received_at - ts`` (publish to the
start of the batch's transaction), and sent = stored with no duplicates; the CPU seconds
of the broker, the consumers, their PostgreSQL backends and the publisher.

Targets: gateway ≥ 0.8 × the do-nothing rate (2 processes, same load, same run), and
≥ 8,000 messages/s with the C publisher.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import databases, report
from bench.registry import register
from bench.site import runner

MARKER = "LINLI_BENCH_MQTT"
COMMUNITY = "bench"
GROUP = "linli"
GATEWAY_USER = "linli-gateway"
WINDOW = 20  # unacknowledged messages per publishing connection (mosquitto_pub's default)
RECEIVE_MAXIMUM = 1000  # what the gateway declares with --batch 500
IDLE_SECONDS = 2.0  # a do-nothing subscriber stops after this long without a message
TARGET_RATIO = 0.8
TARGET_C_RATE = 8000.0
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
F_SETPIPE_SZ = 1031
CASES = ("noop-1", "noop-2", "bulk-2", "gateway-2")
CASE_LABELS = {
    "noop-1": "do-nothing, 1 process",
    "noop-2": "do-nothing, 2 processes (baseline)",
    "bulk-2": "do-nothing on the gateway's MQTT client, 2 processes",
    "gateway-2": "linli gateway, 2 processes",
}
LOADS = {"a": "A: Python publisher (paho)", "b": "B: C publishers (mosquitto_pub -l)"}


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options."""
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("LINLI_BENCH_PG_URL", databases.DEFAULT_PG_URL),
        help="PostgreSQL server for the scratch database bench_mqtt (loopback only)",
    )
    parser.add_argument("--devices", type=int, default=1000, help="devices registered")
    parser.add_argument("--messages", type=int, default=60_000, help="messages per run")
    parser.add_argument("--py-devices", type=int, default=100, help="load A: connections")
    parser.add_argument("--c-devices", type=int, default=200, help="load B: mosquitto_pub")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each case")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="load A: publish at this many messages/s instead of full speed (latency "
        "below saturation)",
    )
    parser.add_argument("--loads", default="a,b", help="loads to run: a, b or a,b")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 200 devices, 4,000 messages, 40 connections, one repetition",
    )
    parser.add_argument("--results-dir", type=Path, default=report.RESULTS_DIR)


# -- messages ---------------------------------------------------------------------------


def topic(code: str) -> str:
    """Return the topic a device publishes its telemetry on."""
    return f"linli/v1/{COMMUNITY}/{code}/up/telemetry"


def message(code: str, msg_id: str, ts_ms: int) -> bytes:
    """Return one telemetry message (about 200 bytes), ``ts`` the publish time."""
    return (
        f'{{"msg_id":"{msg_id}","device_id":"{code}","ts":{ts_ms},"type":"telemetry",'
        f'"payload":{{"metrics":{{"temperature":21.5,"humidity":40.2,"pm25":12,'
        f'"battery":87}}}}}}'
    ).encode()


def _shares(total: int, parts: int) -> list[int]:
    """Split ``total`` messages over ``parts`` devices as evenly as possible."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _emit(out: dict[str, Any]) -> None:
    print(MARKER + json.dumps(out), flush=True)


# -- child: prepare (Django) ------------------------------------------------------------


def _prepare(home: Path, broker_url: str, port: int, devices: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    from linli.devices import broker, credentials
    from linli.devices.models import Device
    from linli.places.models import Community
    from linli.seed import seed_community

    call_command("migrate", interactive=False, verbosity=0)
    seed_community(residents=20, seed=1, code=COMMUNITY)
    community = Community.objects.get(code=COMMUNITY)
    made: dict[str, str] = {}
    rows = []
    for n in range(devices):
        device = Device(
            community=community,
            code=f"bench-dev-{n:04d}",
            name=f"基准设备 {n}",
            kind="environment_sensor",
            serial=f"BENCH-{n:04d}",
        )
        made[device.code] = credentials.issue(device)
        rows.append(device)
    Device.objects.bulk_create(rows)
    directory = home / "broker"
    directory.mkdir()
    broker.write_from_registry(
        directory, broker.GatewayAccount.from_url(broker_url), host="127.0.0.1", port=port
    )
    secrets_file = home / "device-secrets.json"
    secrets_file.write_text(json.dumps(made))
    secrets_file.chmod(0o600)
    return {"devices": len(made)}


# -- child: the do-nothing subscriber ---------------------------------------------------


def _subscribe(port: int, password: str, client_id: str) -> dict[str, Any]:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    state = {"count": 0, "first": 0.0, "last": 0.0}
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
    )
    client.username_pw_set(GATEWAY_USER, password)

    def on_connect(c: mqtt.Client, u: Any, flags: Any, reason: Any, props: Any) -> None:
        c.subscribe(f"$share/{GROUP}/linli/v1/+/+/up/#", qos=1)

    def on_subscribe(c: mqtt.Client, u: Any, mid: int, codes: Any, props: Any) -> None:
        print("ready", flush=True)

    def on_message(c: mqtt.Client, u: Any, m: mqtt.MQTTMessage) -> None:
        now = time.time()
        if not state["count"]:
            state["first"] = now
        state["count"] += 1
        state["last"] = now
        c.ack(m.mid, m.qos)

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0
    props.ReceiveMaximum = RECEIVE_MAXIMUM
    client.connect("127.0.0.1", port, keepalive=30, clean_start=True, properties=props)
    client.loop_start()
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda s, f: stop.update(now=True))
    while not stop["now"]:
        time.sleep(0.1)
        if state["count"] and time.time() - state["last"] > IDLE_SECONDS:
            break
    client.disconnect()
    client.loop_stop()
    return {**state, "cpu_s": time.process_time()}


def _subscribe_bulk(port: int, password: str, client_id: str) -> dict[str, Any]:
    from linli.devices import mqtt5

    state = {"count": 0, "first": 0.0, "last": 0.0}
    client: mqtt5.Client

    def on_messages(number: int, messages: list[mqtt5.Message]) -> None:
        now = time.time()
        if not state["count"]:
            state["first"] = now
        state["count"] += len(messages)
        state["last"] = now
        client.ack(number, [m.packet_id for m in messages])

    client = mqtt5.Client(
        client_id, username=GATEWAY_USER, password=password, on_messages=on_messages
    )
    client.connect(
        "127.0.0.1",
        port,
        clean_start=True,
        properties=[(mqtt5.SESSION_EXPIRY, 0), (mqtt5.RECEIVE_MAXIMUM, RECEIVE_MAXIMUM)],
    )
    client.subscribe([(f"$share/{GROUP}/linli/v1/+/+/up/#", 1)])
    print("ready", flush=True)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda s, f: stop.update(now=True))
    while not stop["now"]:
        time.sleep(0.1)
        if state["count"] and time.time() - state["last"] > IDLE_SECONDS:
            break
    client.disconnect()
    return {**state, "cpu_s": time.process_time()}


# -- child: load A, the Python publisher ------------------------------------------------


def _load_secrets(path: Path, devices: int) -> list[tuple[str, str]]:
    made: dict[str, str] = json.loads(path.read_text())
    return sorted(made.items())[:devices]


def _publish_python(
    port: int, secrets_file: Path, devices: int, total: int, run: str, rate: float
) -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    chosen = _load_secrets(secrets_file, devices)
    left = _shares(total, len(chosen))
    pending = [0] * len(chosen)
    connected: set[int] = set()
    clients: list[mqtt.Client] = []

    def on_connect(c: mqtt.Client, i: int, flags: Any, reason: Any, props: Any) -> None:
        if not reason.is_failure:
            connected.add(i)

    def on_publish(c: mqtt.Client, i: int, mid: int, reason: Any, props: Any) -> None:
        pending[i] -= 1

    for i, (code, secret) in enumerate(chosen):
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{code}-{run}",
            protocol=mqtt.MQTTv311,
            userdata=i,
        )
        c.username_pw_set(code, secret)
        c.max_inflight_messages_set(WINDOW)
        c.on_connect = on_connect
        c.on_publish = on_publish
        c.connect("127.0.0.1", port, keepalive=60)
        clients.append(c)
    by_sock = {c.socket(): c for c in clients}
    deadline = time.monotonic() + 20
    while len(connected) < len(clients):
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(connected)} of {len(clients)} devices connected")
        readable, _, _ = select.select(list(by_sock), [], [], 0.5)
        for s in readable:
            by_sock[s].loopread_text(WINDOW + 5)
    seq = [0] * len(chosen)
    topics = [topic(code) for code, _ in chosen]
    first = time.time()
    misc_at = time.monotonic() + 1
    sent, start = 0, 0
    while any(left) or any(pending):
        now = time.time()
        now_ms = int(now * 1000)
        budget = int(rate * (now - first)) + 1 - sent if rate else total
        for j in range(len(clients)):
            i = (start + j) % len(clients)
            c = clients[i]
            k = min(WINDOW - pending[i], left[i], budget, 1 if rate else WINDOW)
            budget -= max(k, 0)
            sent += max(k, 0)
            for _ in range(k):
                code = chosen[i][0]
                c.publish(topics[i], message(code, f"{run}-{code}-{seq[i]}", now_ms), qos=1)
                seq[i] += 1
                left[i] -= 1
                pending[i] += 1
        start = (start + 1) % len(clients)
        writers = [s for s, c in by_sock.items() if c.want_write()]
        readable, writable, _ = select.select(list(by_sock), writers, [], 0.002 if rate else 1.0)
        for s in writable:
            by_sock[s].loop_write()
        for s in readable:
            by_sock[s].loopread_text(WINDOW + 5)
        if time.monotonic() > misc_at:
            misc_at = time.monotonic() + 1
            for c in clients:
                c.loop_misc()
    end = time.time()
    for c in clients:
        c.disconnect()
    return {"sent": sum(seq), "first": first, "end": end, "cpu_s": time.process_time()}


# -- child: load B, C publishers fed through small pipes --------------------------------


def _publish_c(port: int, secrets_file: Path, devices: int, total: int, run: str) -> Any:
    import resource

    chosen = _load_secrets(secrets_file, devices)
    left = _shares(total, len(chosen))
    procs: list[subprocess.Popen[bytes]] = []
    fds: dict[int, int] = {}
    for i, (code, secret) in enumerate(chosen):
        p = subprocess.Popen(
            [
                *(MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-l"),
                *("-i", f"{code}-{run}", "-u", code, "-P", secret, "-t", topic(code)),
                *("-M", str(WINDOW)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert p.stdin is not None
        fd = p.stdin.fileno()
        fcntl.fcntl(fd, F_SETPIPE_SZ, 4096)  # one page: a line waits for little else
        os.set_blocking(fd, False)
        procs.append(p)
        fds[fd] = i
    time.sleep(1.5)  # let every publisher connect before the first line
    seq = [0] * len(chosen)
    first = time.time()
    while fds:
        _, writable, _ = select.select([], list(fds), [], 1.0)
        now_ms = int(time.time() * 1000)
        for fd in writable:
            i = fds[fd]
            code = chosen[i][0]
            lines = []
            for _ in range(min(2, left[i])):
                lines.append(message(code, f"{run}-{code}-{seq[i]}", now_ms) + b"\n")
                seq[i] += 1
                left[i] -= 1
            try:
                os.write(fd, b"".join(lines))
            except BlockingIOError:  # cannot happen for a write under PIPE_BUF; be safe
                seq[i] -= len(lines)
                left[i] += len(lines)
                continue
            if not left[i]:
                del fds[fd]
                assert procs[i].stdin is not None
                procs[i].stdin.close()
    fed = time.time()
    failed = 0
    for p in procs:
        failed += p.wait(timeout=120) != 0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "sent": sum(seq),
        "first": first,
        "fed": fed,
        "end": time.time(),
        "cpu_s": time.process_time(),
        "publishers_cpu_s": children.ru_utime + children.ru_stime,
        "publishers_failed": failed,
    }


def child(argv: list[str]) -> None:
    """Run one child role and print its JSON result after :data:`MARKER`."""
    role = argv[0]
    if role == "prepare":
        _emit(_prepare(Path(argv[1]), argv[2], int(argv[3]), int(argv[4])))
    elif role == "sub":
        _emit(_subscribe(int(argv[1]), argv[2], argv[3]))
    elif role == "sub-bulk":
        _emit(_subscribe_bulk(int(argv[1]), argv[2], argv[3]))
    elif role == "pub-a":
        rate = float(argv[6])
        _emit(
            _publish_python(int(argv[1]), Path(argv[2]), int(argv[3]), int(argv[4]), argv[5], rate)
        )
    elif role == "pub-b":
        _emit(_publish_c(int(argv[1]), Path(argv[2]), int(argv[3]), int(argv[4]), argv[5]))
    else:
        raise SystemExit(f"unknown role {role!r}")


# -- harness side -----------------------------------------------------------------------


def _child_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench.benchmarks.mqtt", *args]


def _marker(text: str) -> dict[str, Any]:
    return marked_result(text, MARKER)


def marked_result(text: str, marker: str) -> dict[str, Any]:
    """The JSON a child process printed after ``marker`` (its last such line)."""
    lines = [ln for ln in text.splitlines() if ln.startswith(marker)]
    if not lines:
        raise RuntimeError("a child process printed no result")
    result: dict[str, Any] = json.loads(lines[-1][len(marker) :])
    return result


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds of process ``pid`` so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """Return a loopback TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    """Wait until something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@contextlib.contextmanager
def running_broker(directory: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Run Mosquitto on the generated configuration (errors and warnings logged only)."""
    conf = directory / "bench.conf"
    extra = f"log_dest file {directory / 'mosquitto.log'}\nlog_type error\nlog_type warning\n"
    if os.geteuid() == 0:
        extra += "user root\n"  # or it drops to a `mosquitto` user that cannot read the files
    conf.write_text((directory / "mosquitto.conf").read_text() + extra)
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_port(port)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def end_session(port: int, password: str, client_id: str) -> None:
    """Make the broker forget a stopped gateway's session (or it keeps a share of messages)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(GATEWAY_USER, password)
    client.connect("127.0.0.1", port, clean_start=True)
    client.loop_start()
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()


@dataclass
class Setup:
    """What every case of a run shares."""

    home: Path
    env: dict[str, str]
    database_url: str
    port: int
    password: str
    broker: subprocess.Popen[bytes]
    args: argparse.Namespace
    runs: int = 0
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.home / "children.log"


def _pg(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _start_subscribers(
    setup: Setup, n: int, run: str, role: str = "sub"
) -> list[subprocess.Popen[str]]:
    subs = []
    for k in range(n):
        p = subprocess.Popen(
            _child_argv(role, str(setup.port), setup.password, f"bench-noop-{run}-{k}"),
            env=setup.env,
            cwd=runner.REPO_DIR,
            stdout=subprocess.PIPE,
            stderr=setup.log.open("ab"),
            text=True,
        )
        subs.append(p)
    for p in subs:
        assert p.stdout is not None
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a do-nothing subscriber did not subscribe; see {setup.log}")
    return subs


def _start_gateways(setup: Setup, run: str) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    return start_gateways(setup.env, setup.port, setup.password, setup.home, run)


def start_gateways(
    env: dict[str, str], port: int, password: str, home: Path, run: str, count: int = 2
) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    """Start ``count`` ``linli gateway`` processes (``--batch 500 --flush-ms 50``), each
    logging to ``home/<client id>.log``; return them and their client ids once all are
    subscribed."""
    url = f"mqtt://{GATEWAY_USER}:{password}@127.0.0.1:{port}"
    ids = [f"bench-gw-{run}-{k}" for k in range(count)]
    procs, logs = [], []
    for client_id in ids:
        log = home / f"{client_id}.log"
        logs.append(log)
        procs.append(
            subprocess.Popen(
                [
                    *(sys.executable, "-m", "linli.cli", "gateway", "--broker", url),
                    *("--client-id", client_id, "--batch", "500", "--flush-ms", "50"),
                ],
                env=env,
                cwd=runner.REPO_DIR,
                stdout=subprocess.DEVNULL,
                stderr=log.open("ab"),
            )
        )
    deadline = time.monotonic() + 60
    while not all(" connected (session" in read_text(log) for log in logs):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a gateway did not start; see {logs}")
        time.sleep(0.1)
    time.sleep(1.2)  # the SUBACK, and the first command poll opens its database connection
    return procs, ids


def read_text(path: Path) -> str:
    """A log file's text so far (empty if it does not exist yet)."""
    return path.read_text(errors="replace") if path.exists() else ""


def _backends(conn: Any) -> list[int]:
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    ).fetchall()
    return [int(r[0]) for r in rows]


def run_case(setup: Setup, case: str, load: str) -> dict[str, Any]:
    """Run one consumer ``case`` against one ``load``; return its figures."""
    args = setup.args
    setup.runs += 1
    run = f"r{setup.runs}"
    conn = _pg(setup.database_url)
    conn.execute("TRUNCATE devices_devicemessage, devices_rejection")
    consumers: list[Any]
    do_nothing = case.startswith(("noop", "bulk"))
    if do_nothing:
        role = "sub" if case.startswith("noop") else "sub-bulk"
        consumers = _start_subscribers(setup, int(case[-1]), run, role)
        gateway_ids: list[str] = []
        backends: list[int] = []
    else:
        consumers, gateway_ids = _start_gateways(setup, run)
        backends = _backends(conn)
    devices = args.py_devices if load == "a" else args.c_devices
    cpu_before = {
        "broker": cpu_seconds(setup.broker.pid),
        "consumers": sum(cpu_seconds(p.pid) for p in consumers),
        "postgres": sum(cpu_seconds(pid) for pid in backends),
    }
    publisher = subprocess.Popen(
        _child_argv(
            f"pub-{load}",
            str(setup.port),
            str(setup.home / "device-secrets.json"),
            str(devices),
            str(args.messages),
            run,
            *([str(args.rate)] if load == "a" else []),
        ),
        env=setup.env,
        cwd=runner.REPO_DIR,
        stdout=subprocess.PIPE,
        stderr=setup.log.open("ab"),
        text=True,
    )
    out: dict[str, Any] = {"case": case, "load": load, "devices": devices}
    pub: dict[str, Any] = {}
    if do_nothing:
        pub = _marker(publisher.communicate(timeout=900)[0])
        results = []
        for p in consumers:
            text, _ = p.communicate(timeout=900)
            results.append(_marker(text))
        received = sum(r["count"] for r in results)
        last = max(r["last"] for r in results)
        out.update(
            received=received,
            per_process=[r["count"] for r in results],
            rate=received / (last - pub["first"]),
            cpu_consumers_s=sum(r["cpu_s"] for r in results),
        )
    else:
        stored, last_progress, done_at = 0, time.monotonic(), time.time()
        while True:
            time.sleep(0.1)
            count = conn.execute("SELECT count(*) FROM devices_devicemessage").fetchone()[0]
            done_at = time.time()
            if count != stored:
                stored, last_progress = count, time.monotonic()
            if publisher.poll() is not None and not pub:
                pub = _marker(publisher.communicate()[0])
            if pub and stored >= pub["sent"]:
                break
            if time.monotonic() - last_progress > 30:
                break  # stalled: report what is stored
        if not pub:
            pub = _marker(publisher.communicate(timeout=900)[0])
        cpu_consumers = sum(cpu_seconds(p.pid) for p in consumers) - cpu_before["consumers"]
        cpu_pg = sum(cpu_seconds(pid) for pid in backends) - cpu_before["postgres"]
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (device_id, msg_id)),"
            " percentile_cont(0.5) WITHIN GROUP"
            " (ORDER BY extract(epoch FROM received_at - ts) * 1000),"
            " percentile_cont(0.99) WITHIN GROUP"
            " (ORDER BY extract(epoch FROM received_at - ts) * 1000),"
            " max(extract(epoch FROM received_at - ts) * 1000)"
            " FROM devices_devicemessage"
        ).fetchone()
        refused = dict(
            conn.execute("SELECT reason, sum(count) FROM devices_rejection GROUP BY reason")
        )
        for p in consumers:
            p.send_signal(signal.SIGTERM)
        for p in consumers:
            p.wait(timeout=30)
        for client_id in gateway_ids:
            end_session(setup.port, setup.password, client_id)
        if int(row[0]) != pub["sent"]:
            _keep_logs(setup, run, gateway_ids)
        out.update(
            stored=int(row[0]),
            distinct=int(row[1]),
            p50_ms=float(row[2] or 0),
            p99_ms=float(row[3] or 0),
            max_ms=float(row[4] or 0),
            refused={k: int(v) for k, v in refused.items()},
            rate=int(row[0]) / (done_at - pub["first"]),
            cpu_consumers_s=cpu_consumers,
            cpu_postgres_s=cpu_pg,
        )
    conn.close()
    out.update(
        sent=pub["sent"],
        seconds_publishing=pub["end"] - pub["first"],
        cpu_broker_s=cpu_seconds(setup.broker.pid) - cpu_before["broker"],
        cpu_publisher_s=pub["cpu_s"] + pub.get("publishers_cpu_s", 0.0),
        load_average=os.getloadavg()[0],
    )
    if pub.get("publishers_failed"):
        out["publishers_failed"] = pub["publishers_failed"]
    return out


def _keep_logs(setup: Setup, run: str, gateway_ids: list[str]) -> None:
    """Copy the gateways', children's and broker's logs next to the results (a failed run)."""
    setup.args.results_dir.mkdir(parents=True, exist_ok=True)
    path = setup.args.results_dir / f"mqtt-{run}-failed.log"
    parts = [setup.home / f"{i}.log" for i in gateway_ids]
    parts += [setup.log, setup.home / "broker" / "mosquitto.log"]
    path.write_text("".join(f"== {p.name}\n{read_text(p)}\n" for p in parts))
    print(f"  stored != sent: logs in {path}", flush=True)


def _step_prepare(home: Path, env: dict[str, str], url: str, port: int, devices: int) -> None:
    with (home / "children.log").open("ab") as log:
        done = subprocess.run(
            _child_argv("prepare", str(home), url, str(port), str(devices)),
            env=env,
            cwd=runner.REPO_DIR,
            stdout=subprocess.PIPE,
            stderr=log,
            check=False,
            timeout=900,
            text=True,
        )
    if done.returncode != 0:
        raise RuntimeError(f"prepare failed ({done.returncode}); see {home / 'children.log'}")
    _marker(done.stdout)


def summarise(runs: list[dict[str, Any]], load: str) -> dict[str, dict[str, Any]]:
    """Return the medians of each case of ``load`` (figures taken one by one)."""
    out: dict[str, dict[str, Any]] = {}
    for case in CASES:
        mine = [r for r in runs if r["load"] == load and r["case"] == case]
        if not mine:
            continue
        keys = ["rate", "cpu_broker_s", "cpu_consumers_s", "cpu_publisher_s", "load_average"]
        if case == "gateway-2":
            keys += ["p50_ms", "p99_ms", "max_ms", "cpu_postgres_s"]
        summary: dict[str, Any] = report.medians(mine, keys)
        summary["runs"] = len(mine)
        summary["rates"] = [r["rate"] for r in mine]
        if case == "gateway-2":
            summary["exact"] = all(r["stored"] == r["distinct"] == r["sent"] for r in mine)
            summary["lost"] = sum(r["sent"] - r["distinct"] for r in mine)
            summary["duplicates"] = sum(r["stored"] - r["distinct"] for r in mine)
        out[case] = summary
    return out


def verdicts(summary: dict[str, dict[str, Any]], load: str) -> dict[str, Any]:
    """Return the targets' verdicts for one load's summary."""
    base = summary.get("noop-2", {}).get("rate", 0.0)
    gw = summary.get("gateway-2", {})
    rate = gw.get("rate", 0.0)
    out: dict[str, Any] = {
        "ratio": report.ratio(rate, base),
        "ratio_ok": bool(base) and rate >= TARGET_RATIO * base,
        "exact": bool(gw.get("exact")),
    }
    if load == "b":
        out["rate_ok"] = rate >= TARGET_C_RATE
    return out


def render(load: str, summary: dict[str, dict[str, Any]], devices: int, rate: float = 0.0) -> str:
    """Return the table of one load."""
    base = summary.get("noop-2", {}).get("rate", 0.0)
    rows = []
    for case, s in summary.items():
        gw = case == "gateway-2"
        rows.append(
            [
                CASE_LABELS[case],
                report.fmt_number(s["rate"]),
                report.fmt_number(report.ratio(s["rate"], base), 2),
                report.fmt_number(s.get("p50_ms"), 0) if gw else "–",
                report.fmt_number(s.get("p99_ms"), 0) if gw else "–",
                ("yes" if s["exact"] else "NO") if gw else "–",
                report.fmt_number(s["cpu_broker_s"], 1),
                report.fmt_number(s["cpu_consumers_s"], 1),
                report.fmt_number(s.get("cpu_postgres_s"), 1) if gw else "–",
                report.fmt_number(s["cpu_publisher_s"], 1),
            ]
        )
    headers = [
        "consumer",
        "msgs/s",
        "× baseline",
        "p50 ms",
        "p99 ms",
        "sent=stored",
        "CPU s broker",
        "consumers",
        "postgres",
        "publisher",
    ]
    v = verdicts(summary, load)
    lines = [
        f"load {LOADS[load]}, {devices} device connections"
        + (f", paced at {rate:,.0f} msgs/s" if rate and load == "a" else ", full speed"),
        report.format_table(headers, rows),
        f"target gateway ≥ {TARGET_RATIO} × baseline: "
        f"{'PASS' if v['ratio_ok'] else 'FAIL'} ({report.fmt_number(v['ratio'], 2)})",
        f"target sent = stored, no duplicates: {'PASS' if v['exact'] else 'FAIL'}",
    ]
    if load == "b":
        rate = summary.get("gateway-2", {}).get("rate", 0.0)
        lines.append(
            f"target ≥ {TARGET_C_RATE:,.0f} msgs/s stored: "
            f"{'PASS' if v['rate_ok'] else 'FAIL'} ({rate:,.0f})"
        )
    return "\n".join(lines)


@register(
    "mqtt",
    "sustained MQTT ingest into PostgreSQL (2 gateways) against a do-nothing subscriber",
    configure,
)
def run(args: argparse.Namespace) -> int:
    """Run the mqtt benchmark; print and save the figures."""
    if args.quick:
        args.devices = min(args.devices, 200)
        args.messages = min(args.messages, 4_000)
        args.py_devices = min(args.py_devices, 40)
        args.c_devices = min(args.c_devices, 40)
        args.repeat = 1
    loads = [x.strip() for x in args.loads.split(",") if x.strip()]
    if not loads or any(x not in LOADS for x in loads):
        raise SystemExit("--loads takes a, b or a,b")
    if max(args.py_devices, args.c_devices) > args.devices:
        raise SystemExit("more device connections than devices")
    for binary in (MOSQUITTO, MOSQUITTO_PUB):
        if not Path(binary).exists():
            raise SystemExit(f"{binary} is not installed")
    started = report.utc_now()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="linli-bench-mqtt-") as tmp:
        home = Path(tmp)
        with databases.scratch("postgres", home, pg_url=args.pg_url, name="bench_mqtt") as db:
            env = runner.linli_env(home, db.env, settings="linli.settings")
            env["LINLI_LOG_LEVEL"] = "INFO"
            # Each benchmark connection stands for many real devices (a few hundred
            # messages a second each): the per-device limit (50/s) would refuse most.
            env["LINLI_DEVICE_RATE_PER_SECOND"] = "100000"
            env["LINLI_DEVICE_RATE_BURST"] = "100000"
            port = free_port()
            password = secrets.token_urlsafe(24)
            url = f"mqtt://{GATEWAY_USER}:{password}@127.0.0.1:{port}"
            _step_prepare(home, env, url, port, args.devices)
            database_url = db.env["LINLI_DATABASE_URL"]
            with running_broker(home / "broker", port) as broker:
                setup = Setup(home, env, database_url, port, password, broker, args)
                for rep in range(args.repeat):
                    for load in loads:
                        shift = rep % len(CASES)
                        cases = list(CASES[shift:] + CASES[:shift])
                        for case in cases:
                            result = run_case(setup, case, load)
                            result["repetition"] = rep + 1
                            runs.append(result)
                            print(
                                f"  {rep + 1}/{args.repeat} load {load} {case}: "
                                f"{result['rate']:,.0f} msgs/s "
                                f"(sent {result['sent']:,}, load avg "
                                f"{result['load_average']:.1f})",
                                flush=True,
                            )
    failed = False
    summaries = {}
    for load in loads:
        summaries[load] = summarise(runs, load)
        devices = args.py_devices if load == "a" else args.c_devices
        print(render(load, summaries[load], devices, args.rate), flush=True)
        v = verdicts(summaries[load], load)
        failed |= not (v["ratio_ok"] and v["exact"] and v.get("rate_ok", True))
    path = report.write_results(
        "mqtt",
        {
            "settings": {
                k: getattr(args, k)
                for k in (
                    "devices",
                    "messages",
                    "py_devices",
                    "c_devices",
                    "repeat",
                    "loads",
                    "rate",
                )
            },
            "targets": {"ratio": TARGET_RATIO, "c_rate": TARGET_C_RATE},
            "summaries": summaries,
            "verdicts": {load: verdicts(summaries[load], load) for load in loads},
            "runs": runs,
        },
        started_at=started,
        directory=args.results_dir,
    )
    print(f"results: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    child(sys.argv[1:])

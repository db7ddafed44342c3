"""The MQTT gateway against a real Mosquitto running our generated authentication and ACLs.

The first tests run a gateway thread in the test process on the test database. The last
ones run ``linli gateway`` processes on a PostgreSQL database of their own (two processes
sharing the subscription; a ``kill -9`` and restart) and need PostgreSQL on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from django.db import DatabaseError, OperationalError
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from linli import cli
from linli.access.models import AccessEvent, AccessPoint
from linli.core.tenancy import Actor
from linli.devices import credentials, ingest
from linli.devices.choices import CommandStatus
from linli.devices.gateway import Gateway, Options
from linli.devices.models import Command, Device, DeviceMessage
from linli.places.actions import do_create_community
from linli.places.models import Community
from tests.mqtt_broker import (
    Broker,
    free_port,
    running_broker,
    wait_port,
    write_broker_files,
)

GATEWAY_PASSWORD = "gateway-test-secret"
ROOT = Path(__file__).resolve().parent.parent


def gateway_url(port: int) -> str:
    return f"mqtt://linli-gateway:{GATEWAY_PASSWORD}@127.0.0.1:{port}"


def now_ms() -> int:
    return int(time.time() * 1000)


def telemetry(device: str, msg_id: str) -> bytes:
    return json.dumps(
        {
            "msg_id": msg_id,
            "device_id": device,
            "ts": now_ms(),
            "type": "telemetry",
            "payload": {"metrics": {"temperature": 21.5}},
        }
    ).encode()


def wait_for(condition: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    """Poll ``condition`` until true (a locked SQLite table only means: not yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OperationalError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")


class DeviceClient:
    """A device on the broker: MQTT 5, its own credentials, recording PUBACKs and downs."""

    def __init__(self, port: int, code: str, secret: str, *, will_community: str = "") -> None:
        self.code = code
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{code}-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.username_pw_set(code, secret)
        if will_community:
            self.client.will_set(f"linli/v1/{will_community}/{code}/status", "offline", qos=1)
        self.connack: queue.Queue[int] = queue.Queue()
        self.pubacks: dict[int, int] = {}
        self.downs: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.client.on_connect = lambda c, u, f, rc, p: self.connack.put(rc.value)
        self.client.on_publish = self._on_publish
        self.client.on_message = lambda c, u, m: self.downs.put((m.topic, json.loads(m.payload)))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_publish(self, client: Any, userdata: Any, mid: int, rc: Any, props: Any) -> None:
        self.pubacks[mid] = rc.value

    def connected(self) -> bool:
        """Wait for the CONNACK; say whether the broker let the device in."""
        return self.connack.get(timeout=5) == 0

    def listen(self, community: str) -> None:
        """Subscribe to the device's down topics."""
        self.client.subscribe(f"linli/v1/{community}/{self.code}/down/#", qos=1)
        time.sleep(0.2)

    def publish(
        self,
        community: str,
        payload: bytes,
        *,
        device: str = "",
        ack: bool = False,
        kind: str = "telemetry",
    ) -> int:
        """Publish an up message at QoS 1; return its packet id."""
        props = None
        if ack:
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = ("ack", "1")
        topic = f"linli/v1/{community}/{device or self.code}/up/{kind}"
        return int(self.client.publish(topic, payload, qos=1, properties=props).mid)

    def down(self, timeout: float = 10.0) -> tuple[str, dict[str, Any]]:
        """Return the next message the platform sent the device."""
        return self.downs.get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# A private broker per module; each test writes the registry's files and reloads it.


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    directory = tmp_path_factory.mktemp("mosquitto")
    port = free_port()
    # Start with only the gateway account; tests add their devices and reload.
    (directory / "mosquitto.conf").write_text(
        f"per_listener_settings false\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {directory / 'passwords'}\nacl_file {directory / 'acl'}\n"
    )
    (directory / "passwords").write_text("")
    (directory / "acl").write_text("")
    with running_broker(directory, port) as b:
        yield b


@dataclass
class Registry:
    """Communities a and b, devices with their secrets, the broker loaded with them."""

    broker: Broker
    a: Community
    b: Community
    secrets: dict[str, str]
    clients: list[DeviceClient] = field(default_factory=list)

    def device(self, code: str, **kwargs: Any) -> DeviceClient:
        client = DeviceClient(self.broker.port, code, self.secrets[code], **kwargs)
        self.clients.append(client)
        return client


@pytest.fixture
def registry(transactional_db: None, broker: Broker) -> Iterator[Registry]:
    system = Actor.system("test")
    a = do_create_community(system, name="翠苑一区", code="a")
    b = do_create_community(system, name="金桂二区", code="b")
    secrets = {}
    for community, code in ((a, "a-gate"), (a, "a-smoke"), (b, "b-gate")):
        device = Device(community=community, code=code, name=code, kind="face_terminal")
        device.serial = code
        secrets[code] = credentials.issue(device)
        device.save()
    write_broker_files(broker.directory, gateway_url(broker.port))
    broker.reload()
    ingest.limiter.reset()
    reg = Registry(broker, a, b, secrets)
    yield reg
    for client in reg.clients:
        client.close()


@pytest.fixture
def run_gateway(registry: Registry) -> Iterator[Callable[..., Gateway]]:
    """Start gateways in threads of this process; stop them after the test."""
    started: list[tuple[Gateway, threading.Thread]] = []

    def start(**kwargs: Any) -> Gateway:
        options = Options(
            broker_url=gateway_url(registry.broker.port),
            client_id=f"gw-{uuid.uuid4().hex[:8]}",
            batch=kwargs.pop("batch", 100),
            flush_ms=kwargs.pop("flush_ms", 20),
            command_poll_seconds=0.2,
        )
        gateway = Gateway(options, **kwargs)
        thread = threading.Thread(target=gateway.run, daemon=True)
        thread.start()
        assert gateway._connected.wait(5), "the gateway could not connect"
        time.sleep(0.2)  # its subscriptions
        started.append((gateway, thread))
        return gateway

    yield start
    for gateway, thread in started:
        gateway.stop.set()
        thread.join(10)
        end_session(registry.broker.port, gateway.client_id)


def end_session(port: int, client_id: str) -> None:
    """Make the broker forget a stopped gateway's session, or it keeps its share of messages."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set("linli-gateway", GATEWAY_PASSWORD)
    client.connect("127.0.0.1", port, clean_start=True)
    client.loop_start()
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()


def stored(code: str) -> list[str]:
    return sorted(DeviceMessage.objects.filter(device__code=code).values_list("msg_id", flat=True))


# Authentication and ACLs (the broker's own checks) -----------------------------------


def test_only_registered_enabled_devices_with_their_secret_connect(registry: Registry) -> None:
    assert registry.device("a-gate").connected()
    wrong = DeviceClient(registry.broker.port, "a-gate", "not-the-secret")
    registry.clients.append(wrong)
    assert not wrong.connected()
    stranger = DeviceClient(registry.broker.port, "nobody", "whatever")
    registry.clients.append(stranger)
    assert not stranger.connected()

    Device.objects.filter(code="a-smoke").update(enabled=False)
    write_broker_files(registry.broker.directory, gateway_url(registry.broker.port))
    registry.broker.reload()
    assert not registry.device("a-smoke").connected()


def test_a_device_cannot_publish_as_another_device(registry: Registry, run_gateway: Any) -> None:
    run_gateway()
    gate = registry.device("a-gate")
    assert gate.connected()
    mid = gate.publish("a", telemetry("a-smoke", "forged-1"), device="a-smoke")
    wait_for(lambda: mid in gate.pubacks, what="the broker's PUBACK")
    assert gate.pubacks[mid] == 135  # Not authorised
    time.sleep(0.3)
    assert stored("a-smoke") == [] and stored("a-gate") == []


def test_a_device_writing_under_another_community_is_refused_with_a_nack(
    registry: Registry, run_gateway: Any
) -> None:
    run_gateway()
    gate = registry.device("a-gate")
    assert gate.connected()
    gate.listen("b")
    gate.publish("b", telemetry("a-gate", "elsewhere-1"))
    topic, answer = gate.down()
    assert topic == "linli/v1/b/a-gate/down/ack"
    assert answer == {"msg_id": "elsewhere-1", "ok": False, "reason": "wrong_community"}
    assert stored("a-gate") == []


# Storing --------------------------------------------------------------------------


def test_the_gateway_stores_messages_once_and_acks_only_when_asked(
    registry: Registry, run_gateway: Any
) -> None:
    gateway = run_gateway()
    gate = registry.device("a-gate")
    assert gate.connected()
    gate.listen("a")
    ids = [f"m-{n}" for n in range(40)]
    for msg_id in ids:
        gate.publish("a", telemetry("a-gate", msg_id))
    for msg_id in ids[:10]:  # the device resends: stored once
        gate.publish("a", telemetry("a-gate", msg_id))
    gate.publish("a", telemetry("a-gate", "asked-1"), ack=True)
    gate.publish("a", b"{not json")
    wait_for(lambda: len(stored("a-gate")) == 41, what="41 messages stored")
    answers = [gate.down() for _ in range(2)]
    assert (
        "linli/v1/a/a-gate/down/ack",
        {"msg_id": "asked-1", "ok": True, "reason": "stored"},
    ) in (answers)
    assert (
        "linli/v1/a/a-gate/down/ack",
        {"msg_id": "", "ok": False, "reason": "malformed_json"},
    ) in (answers)
    assert stored("a-gate") == sorted([*ids, "asked-1"])
    with pytest.raises(queue.Empty):  # nothing for the plain messages
        gate.down(timeout=0.5)
    wait_for(lambda: gateway.inbox.empty() and gateway.stored == 51, what="all handled")


def test_a_terminal_asks_and_the_gateway_decides_and_answers_at_once(
    registry: Registry, run_gateway: Any
) -> None:
    point = AccessPoint.objects.create(
        community=registry.a, code="gate", name="南门", kind="community_gate"
    )
    point.devices.add(Device.objects.get(code="a-gate"))
    # Plain messages wait up to 5 s to fill a batch; a request must not.
    gateway = run_gateway(flush_ms=5000)
    gate = registry.device("a-gate")
    assert gate.connected()
    gate.listen("a")
    ask = json.dumps(
        {
            "msg_id": "ask-1",
            "device_id": "a-gate",
            "ts": now_ms(),
            "type": "access_request",
            "payload": {"method": "card", "value": "04A1B2C3", "direction": "in"},
        }
    ).encode()
    started = time.monotonic()
    gate.publish("a", ask, kind="access_request")
    topic, answer = gate.down()
    waited = time.monotonic() - started
    assert topic == "linli/v1/a/a-gate/down/access_decision"
    assert answer["type"] == "access_decision" and answer["device_id"] == "a-gate"
    payload = answer["payload"]
    assert (payload["request_msg_id"], payload["result"], payload["reason"]) == (
        "ask-1",
        "deny",
        "unknown_credential",
    )
    assert waited < 2.5, f"the answer waited {waited:.2f} s for a batch"
    event = AccessEvent.objects.get(pk=payload["event_id"])
    assert (event.msg_id, event.point_id, event.direction) == ("ask-1", point.pk, "in")
    # The terminal saw no answer and asks again: the same answer, one decision.
    gate.publish("a", ask, kind="access_request")
    topic, again = gate.down()
    assert again["msg_id"] == answer["msg_id"] and again["payload"] == payload
    assert AccessEvent.objects.count() == 1
    assert "04A1B2C3" not in json.dumps(
        list(DeviceMessage.objects.values_list("payload", flat=True))
    )
    wait_for(lambda: gateway.stored == 2, what="both copies handled")


def test_nothing_is_acked_before_the_batch_commits(registry: Registry, run_gateway: Any) -> None:
    calls = []

    def failing_once(batch: Sequence[ingest.Inbound]) -> list[ingest.Verdict]:
        calls.append(len(batch))
        if len(calls) == 1:
            raise DatabaseError("connection lost")
        return ingest.accept(batch)

    run_gateway(accept=failing_once)
    gate = registry.device("a-gate")
    assert gate.connected()
    gate.publish("a", telemetry("a-gate", "after-failure-1"))
    # The broker sends it again once the gateway has reconnected, and then it is stored.
    wait_for(lambda: stored("a-gate") == ["after-failure-1"], what="the redelivered message")
    assert len(calls) >= 2


def test_a_last_will_marks_the_device_offline(registry: Registry, run_gateway: Any) -> None:
    pytest.importorskip("linli.devices.status")
    run_gateway()
    smoke = registry.device("a-smoke", will_community="a")
    assert smoke.connected()
    smoke.publish("a", telemetry("a-smoke", "hello-1"))
    wait_for(lambda: Device.objects.get(code="a-smoke").status == "online", what="online")
    smoke.client._sock.close()  # type: ignore[union-attr]  # a dead network, not a DISCONNECT
    smoke.client.loop_stop()
    wait_for(
        lambda: Device.objects.get(code="a-smoke").status == "offline",
        timeout=20,
        what="the last will handled",
    )


def test_queued_commands_are_published_and_marked_sent(
    registry: Registry, run_gateway: Any
) -> None:
    gate = registry.device("a-gate")
    assert gate.connected()
    gate.listen("a")
    device = Device.objects.get(code="a-gate")
    Command.objects.create(
        community=registry.a, device=device, msg_id="cmd-1", name="open_door", params={"s": 5}
    )
    run_gateway()
    topic, message = gate.down()
    assert topic == "linli/v1/a/a-gate/down/command"
    assert message["msg_id"] == "cmd-1" and message["type"] == "command"
    assert message["payload"]["name"] == "open_door" and message["payload"]["params"] == {"s": 5}
    wait_for(lambda: Command.objects.get(msg_id="cmd-1").status == CommandStatus.SENT)
    command = Command.objects.get(msg_id="cmd-1")
    assert command.attempts == 1
    assert command.deadline is not None and command.sent_at is not None
    assert message["payload"]["deadline_ts"] == int(command.deadline.timestamp() * 1000)
    with pytest.raises(queue.Empty):  # sent once
        gate.down(timeout=0.6)


def test_retiring_a_stopped_gateway_stores_its_share_and_ends_its_session(
    registry: Registry, run_gateway: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    keeper = run_gateway()
    gone = run_gateway()
    gone.stop.set()  # stopped for good, its session kept by the broker
    wait_for(lambda: not gone._connected.is_set(), what="the gateway stopped")
    gate = registry.device("a-gate")
    assert gate.connected()
    ids = [f"r-{n}" for n in range(60)]
    for msg_id in ids:
        gate.publish("a", telemetry("a-gate", msg_id))
    wait_for(lambda: keeper.stored >= 20, what="the keeper's share stored")
    time.sleep(0.5)
    held = set(ids) - set(stored("a-gate"))
    assert held, "the broker gave the stopped gateway's session no share"

    options = dataclasses.replace(keeper.options, client_id=gone.client_id)
    retiring = Gateway(options)
    assert retiring.retire(idle_seconds=1.0) is True
    assert retiring.stored == len(held)
    assert stored("a-gate") == sorted(ids)
    # The session is gone: every later message goes to the keeper, none waits elsewhere.
    before = keeper.stored
    for n in range(20):
        gate.publish("a", telemetry("a-gate", f"after-{n}"))
    wait_for(lambda: keeper.stored == before + 20, what="all later messages at the keeper")
    url = gateway_url(registry.broker.port)
    cli.main(["gateway", "--broker", url, "--retire", gone.client_id])
    assert f"the broker held no session {gone.client_id}" in capsys.readouterr().out


def test_broker_config_writes_devices_and_the_gateway_account(
    registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Device.objects.filter(code="b-gate").update(enabled=False)
    cli.main(["broker-config", "--dir", str(tmp_path), "--broker", gateway_url(1883)])
    users = dict(line.split(":", 1) for line in (tmp_path / "passwords").read_text().splitlines())
    assert set(users) == {"a-gate", "a-smoke", "linli-gateway"}
    assert users["a-gate"] == Device.objects.get(code="a-gate").mqtt_password_hash
    assert registry.secrets["a-gate"] not in (tmp_path / "passwords").read_text()
    assert (tmp_path / "passwords").stat().st_mode & 0o077 == 0
    conf = (tmp_path / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf and f"acl_file {tmp_path / 'acl'}" in conf
    assert "set_tcp_nodelay true" in conf  # answers to terminals go out at once
    assert "pattern write linli/v1/+/%u/up/#" in (tmp_path / "acl").read_text()
    with pytest.raises(SystemExit):
        cli.main(["broker-config", "--dir", str(tmp_path), "--broker", "mqtt://127.0.0.1:1883"])


# Gateway processes on PostgreSQL ------------------------------------------------------

PG_SERVER = os.environ.get("LINLI_GATEWAY_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
PG_DATABASE = "gateway_h3"


@dataclass
class Deployment:
    """A broker, a PostgreSQL database of our own, devices, and a way to run gateways."""

    broker: Broker
    database_url: str
    env: dict[str, str]
    devices: dict[str, dict[str, str]]

    def gateway(self, client_id: str) -> subprocess.Popen[bytes]:
        """Start ``linli gateway``; its log goes to ``<client id>.log`` by the broker's files."""
        log = (self.broker.directory / f"{client_id}.log").open("ab")
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "linli.cli",
                "gateway",
                "--broker",
                gateway_url(self.broker.port),
                "--client-id",
                client_id,
                "--batch",
                "200",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )

    def stored_ids(self) -> list[str]:
        import psycopg

        with psycopg.connect(self.database_url) as conn:
            return [row[0] for row in conn.execute("SELECT msg_id FROM devices_devicemessage")]


def _pg(database: str) -> Any:
    import psycopg

    return psycopg.connect(f"{PG_SERVER}/{database}", autocommit=True, connect_timeout=3)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    try:
        admin = _pg("postgres")
    except Exception:
        pytest.skip("no PostgreSQL server for the gateway process tests")
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    url = f"{PG_SERVER}/{PG_DATABASE}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env.update(
        DJANGO_SETTINGS_MODULE="linli.settings",
        LINLI_DATABASE_URL=url,
        LINLI_SECRET_KEY=os.environ["LINLI_SECRET_KEY"],
        LINLI_DATA_KEY=os.environ["LINLI_DATA_KEY"],
        LINLI_LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
    )
    subprocess.run([sys.executable, "-m", "linli.cli", "migrate"], env=env, cwd=ROOT, check=True)
    directory = tmp_path_factory.mktemp("mosquitto-pg")
    port = free_port()
    seeded = subprocess.run(
        [sys.executable, "-m", "tests.mqtt_broker", str(directory), gateway_url(port), "p,q", "10"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    devices = json.loads(seeded.stdout.decode().strip().splitlines()[-1])
    with running_broker(directory, port) as b:
        yield Deployment(b, url, env, devices)
    with _pg("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")


class Publisher:
    """Every device publishing ``per_device`` messages in a thread; remembers the PUBACKed."""

    def __init__(self, deployment: Deployment, prefix: str, per_device: int) -> None:
        self.clients = [
            DeviceClient(deployment.broker.port, code, d["secret"])
            for code, d in deployment.devices.items()
        ]
        self.communities = {code: d["community"] for code, d in deployment.devices.items()}
        for c in self.clients:
            assert c.connected()
        self.sent: dict[tuple[str, int], str] = {}
        self.prefix = prefix
        self.per_device = per_device
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for n in range(self.per_device):
            for c in self.clients:
                msg_id = f"{self.prefix}-{c.code}-{n}"
                mid = c.publish(self.communities[c.code], telemetry(c.code, msg_id))
                self.sent[(c.code, mid)] = msg_id
            time.sleep(0.03)  # ~30 messages/s per device: under the ingest's rate limit

    def acked(self) -> set[str]:
        """Return the msg_ids the broker acknowledged (PUBACK reason 0)."""
        return {
            msg_id
            for c in self.clients
            for (code, mid), msg_id in list(self.sent.items())
            if code == c.code and c.pubacks.get(mid) == 0
        }

    def close(self) -> None:
        for c in self.clients:
            c.close()


def stop(deployment: Deployment, process: subprocess.Popen[bytes], client_id: str) -> str:
    """Stop a gateway process (SIGTERM); return its log."""
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    return (deployment.broker.directory / f"{client_id}.log").read_text()


@pytest.mark.db_independent
def test_two_gateway_processes_share_the_load_and_lose_nothing(deployment: Deployment) -> None:
    gateways = [deployment.gateway(f"share-{n}") for n in range(2)]
    time.sleep(2.5)  # Django start-up and subscription
    publisher = Publisher(deployment, "share", per_device=60)  # 20 devices: 1,200 messages
    publisher.thread.start()
    publisher.thread.join(60)
    wait_for(lambda: len(publisher.acked()) == 1200, what="the broker's PUBACKs")
    acked = publisher.acked()
    wait_for(lambda: acked <= set(deployment.stored_ids()), timeout=60, what="all stored")
    publisher.close()
    logs = [stop(deployment, g, f"share-{n}") for n, g in enumerate(gateways)]
    for n in range(2):
        end_session(deployment.broker.port, f"share-{n}")
    counts = []
    for log in logs:
        line = next(x for x in log.splitlines() if "stopped:" in x)
        counts.append(int(line.split("stopped: ")[1].split()[0]))
    assert sum(counts) >= 1200
    assert min(counts) > 200, f"the broker did not share the load: {counts}"
    ids = [i for i in deployment.stored_ids() if i.startswith("share-")]
    assert len(ids) == len(set(ids)) == 1200


@pytest.mark.db_independent
def test_a_killed_gateway_loses_nothing_the_broker_acked(deployment: Deployment) -> None:
    gateway = deployment.gateway("crash-1")
    time.sleep(2.5)
    publisher = Publisher(deployment, "crash", per_device=150)  # 3,000 messages
    publisher.thread.start()
    wait_for(
        lambda: sum(i.startswith("crash-") for i in deployment.stored_ids()) > 300,
        timeout=30,
        what="the first messages stored",
    )
    gateway.send_signal(signal.SIGKILL)
    gateway.wait()
    assert sum(i.startswith("crash-") for i in deployment.stored_ids()) < 3000  # mid-stream
    time.sleep(1)  # the broker queues for the dead gateway's session meanwhile
    restarted = deployment.gateway("crash-1")
    publisher.thread.join(90)
    wait_for(lambda: len(publisher.acked()) == 3000, what="the broker's PUBACKs")
    acked = publisher.acked()
    wait_for(lambda: acked <= set(deployment.stored_ids()), timeout=60, what="every acked stored")
    publisher.close()
    log = stop(deployment, restarted, "crash-1")
    end_session(deployment.broker.port, "crash-1")
    assert "session present: True" in log
    ids = [i for i in deployment.stored_ids() if i.startswith("crash-")]
    assert len(ids) == len(set(ids)) == 3000


def test_the_private_broker_listens(broker: Broker) -> None:
    wait_port(broker.port, timeout=1)

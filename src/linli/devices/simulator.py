"""The device simulator (设备模拟器): virtual devices speaking protocol v1 over MQTT or HTTP.

``linli simulate`` drives a realistic mix of devices of one community: each sends its state
on start, heartbeats at its interval, readings that drift as random walks (temperature,
humidity, PM2.5, gas, battery...), door and motion events, and now and then an alarm
(smoke, gas, water leak, SOS). Together they send about ``rate`` messages a second. They
answer the commands the platform sends them (``down/command`` over MQTT, polling
``GET /device/v1/commands`` over HTTP) with a ``command_result``, once per command id.

The device clients here (:class:`HttpDevice`, :class:`MqttDevice`) are plain protocol
clients with no access to the database; :mod:`linli.devices.conformance` uses them too.
Only :func:`register_devices` writes, through the registry's actions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import queue
import random
import secrets
import ssl
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from linli.devices.credentials import signature, signing_key

TOPIC_ROOT = "linli/v1"
HTTP_TIMEOUT_SECONDS = 30.0
MAX_BATCH = 100
POLL_EVERY_SECONDS = 2.0
TICK_SECONDS = 0.1
SESSION_EXPIRY_SECONDS = 24 * 3600
ALARM_PROBABILITY = 0.002  # per activity message of a detector: rare, as alarms should be

# A realistic estate: many sensors and door contacts, fewer terminals, one or two of the rest.
KIND_MIX: tuple[tuple[str, int], ...] = (
    ("environment_sensor", 4),
    ("door_contact", 4),
    ("pir_detector", 3),
    ("smoke_detector", 3),
    ("gas_detector", 2),
    ("water_leak", 2),
    ("face_terminal", 2),
    ("door_controller", 2),
    ("camera", 2),
    ("sos_button", 1),
    ("barrier_gate", 1),
    ("parcel_locker", 1),
    ("elevator_controller", 1),
)
DETECTORS = ("smoke_detector", "gas_detector", "water_leak", "sos_button")
ALARMS = {
    "smoke_detector": "smoke_alarm",
    "gas_detector": "gas_alarm",
    "water_leak": "water_leak",
    "sos_button": "sos_pressed",
}
DOOR_KINDS = ("face_terminal", "door_controller", "barrier_gate", "elevator_controller")


def now_ms() -> int:
    """Return the current time in epoch milliseconds."""
    return int(time.time() * 1000)


# Credentials -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DeviceCredential:
    """What a virtual device needs to connect: its id, secret, community and kind."""

    device_id: str
    secret: str
    community: str
    kind: str
    heartbeat_seconds: int = 60


def save_credentials(path: Path, devices: Iterable[DeviceCredential]) -> None:
    """Write the devices' credentials as JSON, readable by the owner only."""
    doc = {"devices": [dataclasses.asdict(d) for d in devices]}
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


def load_credentials(path: Path) -> list[DeviceCredential]:
    """Read a credentials file written by :func:`save_credentials`."""
    doc = json.loads(path.read_text())
    return [DeviceCredential(**d) for d in doc["devices"]]


def plan_kinds(count: int) -> list[str]:
    """Return ``count`` device kinds in the proportions of :data:`KIND_MIX`."""
    cycle = [kind for kind, weight in KIND_MIX for _ in range(weight)]
    # Interleave so that a small count still gets a mix rather than four sensors.
    spread = sorted(range(len(cycle)), key=lambda i: (cycle[: i + 1].count(cycle[i]), i))
    order = [cycle[i] for i in spread]
    return [order[n % len(order)] for n in range(count)]


def register_devices(community_code: str, count: int) -> list[DeviceCredential]:
    """Register ``count`` simulated devices in a community (local database); return secrets.

    Each gets a fresh secret from the registry's action; the secrets exist only in the
    returned credentials (write them with :func:`save_credentials`).
    """
    from linli.core.tenancy import Actor
    from linli.devices.actions import do_register_device
    from linli.places.models import Community

    community = Community.objects.get(code=community_code)
    system = Actor.system("cli:simulate")
    run = secrets.token_hex(3)
    made = []
    for n, kind in enumerate(plan_kinds(count), start=1):
        heartbeat = 300 if kind in DETECTORS else 60
        device, secret = do_register_device(
            system,
            community,
            kind=kind,
            code=f"sim-{run}-{n:03d}",
            name=f"模拟设备 {n:03d}",
            serial=f"SIM-{run}-{n:03d}",
            vendor="Linli simulator",
            tags=["模拟"],
            heartbeat_seconds=heartbeat,
        )
        made.append(DeviceCredential(device.code, secret, community.code, kind, heartbeat))
    from linli.access.passers import attach_terminals

    attach_terminals(community.pk, made)
    return made


# Protocol clients ----------------------------------------------------------------------


@dataclasses.dataclass
class HttpAnswer:
    """An HTTP answer: status and JSON body (``{}`` when it was not JSON)."""

    status: int
    body: dict[str, Any]


class HttpDevice:
    """A device on the HTTP API: posts messages, polls commands; token or signature auth."""

    def __init__(self, base_url: str, device_id: str, secret: str) -> None:
        base = base_url.rstrip("/")
        base = base.removesuffix("/device/v1")
        self.base = f"{base}/device/v1"
        self.device_id = device_id
        self.secret = secret
        self.key = signing_key(secret)

    def token_headers(self) -> dict[str, str]:
        """Return the ``Authorization`` header of the token scheme."""
        return {"Authorization": f"Bearer {self.device_id}:{self.secret}"}

    def signed_headers(self, body: bytes, *, nonce: str = "", at: int = 0) -> dict[str, str]:
        """Return the signature headers for ``body`` (a fresh nonce unless given)."""
        timestamp = str(at or int(time.time()))
        nonce = nonce or secrets.token_hex(8)
        return {
            "X-Linli-Device": self.device_id,
            "X-Linli-Timestamp": timestamp,
            "X-Linli-Nonce": nonce,
            "X-Linli-Signature": signature(self.key, timestamp, nonce, body),
        }

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> HttpAnswer:
        """Send one request; return its status and JSON (raises ``OSError`` on no answer)."""
        request = urllib.request.Request(  # noqa: S310  (the URL is the operator's, http/https)
            f"{self.base}/{path}",
            data=body if method == "POST" else None,
            method=method,
            headers={"Content-Type": "application/json", **(headers or self.token_headers())},
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            doc = json.loads(raw) if raw else {}
        except ValueError:
            doc = {}
        return HttpAnswer(status, doc if isinstance(doc, dict) else {})

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> HttpAnswer:
        """POST raw bytes to ``/messages``."""
        return self.request("POST", "messages", body, headers)

    def send(self, messages: list[dict[str, Any]]) -> HttpAnswer:
        """POST messages as one batch."""
        return self.post(json.dumps(messages, ensure_ascii=False).encode())

    def commands(self, wait: int = 0) -> HttpAnswer:
        """GET the queued commands (``wait`` seconds of long poll)."""
        return self.request("GET", f"commands?wait={wait}" if wait else "commands")


@dataclasses.dataclass(frozen=True)
class Broker:
    """Where the broker is: ``mqtt://host:port`` or ``mqtts://`` (TLS)."""

    host: str
    port: int
    tls: bool

    @classmethod
    def from_url(cls, url: str) -> Broker:
        """Parse a broker URL (credentials in it are ignored: devices use their own)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"not a broker URL (mqtt://host:port): {url!r}")
        tls = parts.scheme == "mqtts"
        return cls(unquote(parts.hostname), parts.port or (8883 if tls else 1883), tls)


class MqttDevice:
    """A device on the broker: MQTT 5, its own credentials, last will, down topics."""

    def __init__(
        self,
        broker: Broker,
        device_id: str,
        secret: str,
        community: str,
        on_down: Callable[[str, dict[str, Any]], None],
        *,
        session_expiry: int = 0,
    ) -> None:
        self.device_id = device_id
        self.session_expiry = session_expiry
        self.community = community
        self.on_down = on_down
        self.pubacks: dict[int, int] = {}
        self._connack: queue.Queue[int] = queue.Queue()
        self._published = threading.Condition()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            # A lasting session is the device's own: commands queued while away arrive later.
            client_id=device_id if session_expiry else f"{device_id}-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.username_pw_set(device_id, secret)
        self.client.will_set(self.topic("status"), "offline", qos=1)
        if broker.tls:
            self.client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._connack.put(-1)
        self.broker = broker

    def topic(self, tail: str, *, device: str = "", community: str = "") -> str:
        """Return a topic of this device (or, to test the ACLs, of another)."""
        return f"{TOPIC_ROOT}/{community or self.community}/{device or self.device_id}/{tail}"

    def connect(self, timeout: float = 10.0) -> int:
        """Connect and subscribe to ``down/#``; return the CONNACK reason (0 = accepted)."""
        props = None
        if self.session_expiry:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.session_expiry
        self.client.connect(
            self.broker.host,
            self.broker.port,
            clean_start=not self.session_expiry,
            properties=props,
        )
        self.client.loop_start()
        try:
            reason = self._connack.get(timeout=timeout)
        except queue.Empty:
            return -1
        if reason != 0:
            return reason
        try:
            self._connack.get(timeout=timeout)  # the SUBACK
        except queue.Empty:
            return -1
        return 0

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        self._connack.put(int(rc.value))
        if rc.value == 0:
            client.subscribe(self.topic("down/#"), qos=1)

    def _on_publish(self, client: Any, userdata: Any, mid: int, rc: Any, props: Any) -> None:
        with self._published:
            self.pubacks[mid] = int(rc.value)
            self._published.notify_all()

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            doc = json.loads(message.payload)
        except ValueError:
            return
        if isinstance(doc, dict):
            self.on_down(message.topic.rsplit("/", 1)[-1], doc)

    def listen(self, community: str) -> None:
        """Also subscribe to the down topics under another community (acks to stray topics)."""
        self.client.subscribe(self.topic("down/#", community=community), qos=1)
        self._connack.get(timeout=10)  # the SUBACK

    def publish(
        self, kind: str, payload: bytes, *, ack: bool = True, device: str = "", community: str = ""
    ) -> int:
        """Publish an up message of ``kind`` at QoS 1; return its packet id."""
        props = None
        if ack:
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = ("ack", "1")
        topic = self.topic(f"up/{kind}", device=device, community=community)
        return int(self.client.publish(topic, payload, qos=1, properties=props).mid)

    def puback(self, mid: int, timeout: float = 10.0) -> int | None:
        """Wait for the broker's PUBACK of packet ``mid``; return its reason code."""
        with self._published:
            self._published.wait_for(lambda: mid in self.pubacks, timeout)
            return self.pubacks.get(mid)

    def close(self) -> None:
        """Disconnect cleanly (the last will is not sent)."""
        self.client.disconnect()
        self.client.loop_stop()


# Virtual devices -----------------------------------------------------------------------


def _walk(value: float, step: float, low: float, high: float, rng: random.Random) -> float:
    """Take one step of a bounded random walk."""
    return min(high, max(low, value + rng.gauss(0, step)))


class VirtualDevice:
    """One simulated device: what it says when, and how it answers commands."""

    def __init__(self, credential: DeviceCredential, rng: random.Random) -> None:
        self.credential = credential
        self.device_id = credential.device_id
        self.kind = credential.kind
        self.rng = rng
        self.run = secrets.token_hex(3)
        self.counter = 0
        self.started = time.monotonic()
        self.next_heartbeat = self.started + credential.heartbeat_seconds
        self.next_poll = self.started + rng.uniform(0, POLL_EVERY_SECONDS)
        self.config_version = 0
        self.config: dict[str, Any] = {"report_seconds": 60}
        self.door_open = False
        self.answered: dict[str, dict[str, Any]] = {}
        self.readings = self._initial_readings()

    def _initial_readings(self) -> dict[str, float]:
        r = self.rng
        readings: dict[str, float] = {"battery": round(r.uniform(60, 100), 1)}
        if self.kind == "environment_sensor":
            readings |= {"temperature": r.uniform(15, 28), "humidity": r.uniform(35, 70)}
            readings["pm25"] = r.uniform(10, 80)
        elif self.kind == "gas_detector":
            readings |= {"gas_ppm": r.uniform(0, 5), "temperature": r.uniform(15, 28)}
        elif self.kind == "smoke_detector":
            readings |= {"smoke_density": r.uniform(0, 0.02), "temperature": r.uniform(15, 28)}
        elif self.kind in ("water_leak", "door_contact", "pir_detector", "sos_button"):
            readings["signal_dbm"] = r.uniform(-90, -50)
        else:  # mains-powered terminals, cameras, controllers
            readings = {"cpu_temp": r.uniform(35, 55), "signal_dbm": r.uniform(-70, -40)}
        return readings

    def message(self, kind: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return a new up message of ``kind`` with a fresh ``msg_id``."""
        self.counter += 1
        doc: dict[str, Any] = {
            "msg_id": f"{self.device_id}:{self.run}:{self.counter}",
            "device_id": self.device_id,
            "ts": now_ms(),
            "type": kind,
        }
        if payload is not None:
            doc["payload"] = payload
        return doc

    def boot(self) -> list[dict[str, Any]]:
        """Return what the device says when it starts: its state, then a heartbeat."""
        return [self.state(), self.heartbeat()]

    def state(self) -> dict[str, Any]:
        """Return a ``state`` message: the configuration it runs."""
        return self.message(
            "state",
            {"config_version": self.config_version, "config": self.config, "firmware": "1.0.0"},
        )

    def heartbeat(self) -> dict[str, Any]:
        """Return a ``heartbeat`` message with the uptime."""
        return self.message("heartbeat", {"uptime_s": int(time.monotonic() - self.started)})

    def telemetry(self) -> dict[str, Any]:
        """Return a ``telemetry`` message, every reading one step further on its walk."""
        r, values = self.rng, self.readings
        bounds = {
            "temperature": (0.2, -10, 45),
            "humidity": (0.8, 10, 99),
            "pm25": (3.0, 1, 500),
            "gas_ppm": (0.3, 0, 100),
            "smoke_density": (0.002, 0, 0.5),
            "cpu_temp": (0.5, 20, 90),
            "signal_dbm": (1.0, -110, -30),
        }
        for name, (step, low, high) in bounds.items():
            if name in values:
                values[name] = _walk(values[name], step, low, high, r)
        if "battery" in values:  # drains, never recharges
            values["battery"] = max(0.0, values["battery"] - abs(r.gauss(0, 0.01)))
        return self.message("telemetry", {"metrics": {k: round(v, 3) for k, v in values.items()}})

    def event(self, name: str, severity: str = "info", **data: Any) -> dict[str, Any]:
        """Return an ``event`` message."""
        return self.message("event", {"event": name, "severity": severity, "data": data})

    def activity(self) -> dict[str, Any]:
        """Return the next message this kind of device would send between heartbeats."""
        r = self.rng
        if self.kind in ALARMS and r.random() < ALARM_PROBABILITY:
            return self.event(ALARMS[self.kind], "critical")
        if self.kind == "door_contact" and r.random() < 0.7:
            self.door_open = not self.door_open
            return self.event("door_open" if self.door_open else "door_close")
        if self.kind == "pir_detector" and r.random() < 0.6:
            return self.event("motion", zone=r.randint(1, 4))
        if self.kind in DOOR_KINDS and r.random() < 0.3:
            return self.event("access_granted", method=r.choice(["face", "card", "qr"]))
        if self.kind == "parcel_locker" and r.random() < 0.3:
            return self.event("compartment_opened", compartment=r.randint(1, 24))
        return self.telemetry()

    def answer(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        """Run a command once and answer it; a repeat gets the same result again."""
        command_id = str(command.get("msg_id", ""))
        payload = command.get("payload") or {}
        if command_id in self.answered:
            return [self.message("command_result", self.answered[command_id])]
        name, params = payload.get("name"), payload.get("params") or {}
        after: list[dict[str, Any]] = []
        result: dict[str, Any] = {"command_msg_id": command_id, "ok": True}
        if payload.get("deadline_ts", 0) and payload["deadline_ts"] < now_ms():
            result = {"command_msg_id": command_id, "ok": False, "code": "deadline_passed"}
        elif name == "set_config":
            self.config_version = int(params.get("version", self.config_version))
            self.config = dict(params.get("config") or {})
            after.append(self.state())
        elif name == "reboot":
            self.started = time.monotonic()
            after += self.boot()
        elif name == "open_door" and self.kind in DOOR_KINDS:
            after.append(self.event("door_opened_by_command", door=params.get("door", 1)))
        elif name not in ("sync_credentials", "open_door"):
            result = {"command_msg_id": command_id, "ok": False, "code": "unsupported"}
        self.answered[command_id] = result
        return [self.message("command_result", result), *after]


# Counting ----------------------------------------------------------------------------


class Stats:
    """What happened to the messages, counted from any thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent = 0
        self.stored = 0
        self.duplicate = 0
        self.refused: Counter[str] = Counter()
        self.errors = 0
        self.commands = 0
        self.doors: Counter[str] = Counter()  # door decisions by reason (see access.passers)

    def add(self, **counts: int) -> None:
        """Add to the named counters."""
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def refuse(self, reason: str, n: int = 1) -> None:
        """Count ``n`` messages refused for ``reason``."""
        with self.lock:
            self.refused[reason] += n

    def line(self, elapsed: float) -> str:
        """Return the one-line summary."""
        with self.lock:
            refused = sum(self.refused.values())
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.refused.items()))
            rate = self.sent / elapsed if elapsed > 0 else 0.0
            return (
                f"{elapsed:6.1f}s  sent {self.sent}  stored {self.stored}  "
                f"duplicate {self.duplicate}  refused {refused}"
                f"{f' ({reasons})' if reasons else ''}  errors {self.errors}  "
                f"commands answered {self.commands}  rate {rate:.1f}/s" + self._doors()
            )

    def _doors(self) -> str:
        if not self.doors:
            return ""
        allowed = self.doors["allowed"]
        denied = {k: v for k, v in self.doors.items() if k != "allowed"}
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(denied.items()))
        return f"  doors: {allowed} passed, {sum(denied.values())} refused" + (
            f" ({reasons})" if reasons else ""
        )


# Transports ----------------------------------------------------------------------------


class Link(Protocol):
    """How the virtual devices reach the platform."""

    def start(self, devices: list[VirtualDevice]) -> list[VirtualDevice]:
        """Connect the devices; return those that could."""

    def send(self, device: VirtualDevice, messages: list[dict[str, Any]]) -> None:
        """Send messages of one device."""

    def poll(self, now: float) -> None:
        """Fetch and answer commands."""

    def settle(self, timeout: float) -> None:
        """Wait (up to ``timeout``) for the answers to what was sent."""

    def close(self) -> None:
        """Disconnect."""


class HttpLink:
    """Devices posting batches and polling for commands, one request at a time."""

    def __init__(self, base_url: str, stats: Stats) -> None:
        self.base_url = base_url
        self.stats = stats
        self.clients: dict[str, HttpDevice] = {}
        self.devices: list[VirtualDevice] = []

    def start(self, devices: list[VirtualDevice]) -> list[VirtualDevice]:
        """Make a client per device (HTTP needs no connection)."""
        for d in devices:
            self.clients[d.device_id] = HttpDevice(self.base_url, d.device_id, d.credential.secret)
        self.devices = devices
        return devices

    def send(self, device: VirtualDevice, messages: list[dict[str, Any]]) -> None:
        """POST the messages in batches of at most 100; count the verdicts."""
        for start in range(0, len(messages), MAX_BATCH):
            chunk = messages[start : start + MAX_BATCH]
            self.stats.add(sent=len(chunk))
            try:
                answer = self.clients[device.device_id].send(chunk)
            except OSError:
                self.stats.add(errors=len(chunk))
                continue
            if answer.status != 200:
                self.stats.refuse(str(answer.body.get("code", f"http_{answer.status}")), len(chunk))
                continue
            for result in answer.body.get("results", []):
                self._count(result)

    def _count(self, result: dict[str, Any]) -> None:
        if result.get("ok"):
            self.stats.add(**{"stored" if result.get("reason") == "stored" else "duplicate": 1})
        else:
            self.stats.refuse(str(result.get("reason", "")))

    def poll(self, now: float) -> None:
        """Poll the commands of the devices whose turn it is; answer them."""
        for device in self.devices:
            if device.next_poll > now:
                continue
            device.next_poll = now + POLL_EVERY_SECONDS
            try:
                answer = self.clients[device.device_id].commands()
            except OSError:
                self.stats.add(errors=1)
                continue
            for command in answer.body.get("commands", []) if answer.status == 200 else []:
                self.send(device, device.answer(command))
                self.stats.add(commands=1)

    def settle(self, timeout: float) -> None:
        """Nothing to wait for: every POST was answered."""

    def close(self) -> None:
        """Nothing to close."""


class MqttLink:
    """A broker connection per device, with its last will; acks asked for every message."""

    def __init__(self, broker_url: str, stats: Stats) -> None:
        self.broker = Broker.from_url(broker_url)
        self.stats = stats
        self.clients: dict[str, MqttDevice] = {}
        self.commands: queue.Queue[tuple[VirtualDevice, dict[str, Any]]] = queue.Queue()
        self._decided = threading.Condition()
        # Answers to requests being waited for, by request msg_id (a late one is dropped).
        self._decisions: dict[str, dict[str, Any] | None] = {}

    def start(self, devices: list[VirtualDevice]) -> list[VirtualDevice]:
        """Connect every device; those the broker refuses are counted and left out."""
        connected = []
        for d in devices:

            def on_down(kind: str, doc: dict[str, Any], device: VirtualDevice = d) -> None:
                self._on_down(device, kind, doc)

            client = MqttDevice(
                self.broker,
                d.device_id,
                d.credential.secret,
                d.credential.community,
                on_down,
                session_expiry=SESSION_EXPIRY_SECONDS,
            )
            try:
                reason = client.connect()
            except OSError:
                reason = -1
            if reason != 0:
                self.stats.refuse("not_connected")
                client.client.loop_stop()
                continue
            self.clients[d.device_id] = client
            connected.append(d)
        return connected

    def _on_down(self, device: VirtualDevice, kind: str, doc: dict[str, Any]) -> None:
        if kind == "ack":
            if doc.get("ok"):
                self.stats.add(**{"stored" if doc.get("reason") == "stored" else "duplicate": 1})
            else:
                self.stats.refuse(str(doc.get("reason", "")))
        elif kind == "command":
            self.commands.put((device, doc))
        elif kind == "access_decision" and isinstance(doc.get("payload"), dict):
            with self._decided:
                msg_id = str(doc["payload"].get("request_msg_id"))
                if msg_id in self._decisions:
                    self._decisions[msg_id] = doc["payload"]
                    self._decided.notify_all()

    def ask(
        self, device_id: str, message: dict[str, Any], timeout: float = 10.0
    ) -> dict[str, Any] | None:
        """Publish a request a device waits on (``access_request``) and wait for its answer's
        payload (``None``: the device is not connected, or no answer came in time)."""
        client = self.clients.get(device_id)
        if client is None:
            return None
        msg_id = message["msg_id"]
        with self._decided:
            self._decisions[msg_id] = None
        client.publish(message["type"], json.dumps(message, ensure_ascii=False).encode())
        self.stats.add(sent=1)
        with self._decided:
            self._decided.wait_for(lambda: self._decisions[msg_id] is not None, timeout)
            return self._decisions.pop(msg_id)

    def send(self, device: VirtualDevice, messages: list[dict[str, Any]]) -> None:
        """Publish each message on its type's topic at QoS 1, asking for an ack."""
        client = self.clients[device.device_id]
        for m in messages:
            client.publish(m["type"], json.dumps(m, ensure_ascii=False).encode())
        self.stats.add(sent=len(messages))

    def poll(self, now: float) -> None:
        """Answer the commands that arrived."""
        while True:
            try:
                device, command = self.commands.get_nowait()
            except queue.Empty:
                return
            self.send(device, device.answer(command))
            self.stats.add(commands=1)

    def settle(self, timeout: float) -> None:
        """Wait until every message sent has its ack, or ``timeout``."""
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            self.poll(time.monotonic())
            s = self.stats
            with s.lock:
                if s.stored + s.duplicate + sum(s.refused.values()) >= s.sent:
                    return
            time.sleep(0.1)

    def close(self) -> None:
        """Disconnect every device cleanly."""
        for client in self.clients.values():
            client.close()


# The run -------------------------------------------------------------------------------


def simulate(
    credentials: list[DeviceCredential],
    link: Link,
    stats: Stats,
    *,
    rate: float,
    duration: float | None,
    report_every: float = 5.0,
    out: IO[str] | None = None,
    stop: threading.Event | None = None,
    seed: int | None = None,
    ticker: Callable[[float], None] | None = None,
) -> Stats:
    """Run the devices until ``duration`` seconds pass or ``stop`` is set; return the counts.

    ``ticker(now)``, if given, runs on every tick of the loop (people passing the doors).
    """
    rng = random.Random(seed)  # noqa: S311  (simulated readings, not secrets)
    stop = stop or threading.Event()
    devices = link.start([VirtualDevice(c, random.Random(rng.random())) for c in credentials])  # noqa: S311
    if out:
        print(f"{len(devices)} of {len(credentials)} devices connected", file=out, flush=True)
    started = time.monotonic()
    try:
        # Ctrl-C ends the run as --duration does: with the final summary.
        if devices:
            with contextlib.suppress(KeyboardInterrupt):
                _loop(
                    devices,
                    link,
                    stats,
                    rng,
                    rate,
                    duration,
                    report_every,
                    out,
                    stop,
                    started,
                    ticker,
                )
        link.settle(5.0)
    finally:
        link.close()
    if out:
        print(f"final: {stats.line(time.monotonic() - started)}", file=out, flush=True)
    return stats


def _loop(
    devices: list[VirtualDevice],
    link: Link,
    stats: Stats,
    rng: random.Random,
    rate: float,
    duration: float | None,
    report_every: float,
    out: IO[str] | None,
    stop: threading.Event,
    started: float,
    ticker: Callable[[float], None] | None = None,
) -> None:
    for d in devices:
        link.send(d, d.boot())
    by_id = {d.device_id: d for d in devices}
    budget = 0.0
    last = next_report = started
    next_report += report_every
    while not stop.is_set():
        now = time.monotonic()
        if duration is not None and now - started >= duration:
            break
        budget += rate * (now - last)
        last = now
        outgoing: dict[str, list[dict[str, Any]]] = {}
        for d in devices:
            if d.next_heartbeat <= now:
                d.next_heartbeat = now + d.credential.heartbeat_seconds
                outgoing.setdefault(d.device_id, []).append(d.heartbeat())
                budget -= 1
        while budget >= 1:
            d = rng.choice(devices)
            outgoing.setdefault(d.device_id, []).append(d.activity())
            budget -= 1
        for device_id, messages in outgoing.items():
            link.send(by_id[device_id], messages)
        link.poll(now)
        if ticker is not None:
            ticker(now)
        if out and now >= next_report:
            next_report = now + report_every
            print(stats.line(now - started), file=out, flush=True)
        stop.wait(max(0.0, TICK_SECONDS - (time.monotonic() - now)))


def run_simulation(
    credentials: list[DeviceCredential],
    *,
    mqtt_url: str = "",
    http_url: str = "",
    rate: float,
    duration: float | None,
    report_every: float = 5.0,
    out: IO[str] | None = None,
    stop: threading.Event | None = None,
    passers: float = 0.0,
) -> Stats:
    """Run the simulator over MQTT (``mqtt_url``) or HTTP (``http_url``).

    ``passers`` > 0 (on the platform's own database): that many people a second show their
    一码通 at the simulated terminals attached to access points, which ask the platform over
    the same link.
    """
    stats = Stats()
    link: Link
    ticker = None
    if mqtt_url:
        link = mqtt_link = MqttLink(mqtt_url, stats)
    else:
        link = HttpLink(http_url, stats)
    if passers > 0:
        from linli.access.passers import Doors, HttpDoors, MqttDoors, Passers

        doors: Doors = MqttDoors(mqtt_link) if mqtt_url else HttpDoors(http_url, credentials)
        people = Passers(doors, credentials, stats, rate=passers)
        if out:
            print(f"{len(people.doors)} simulated terminals at access points", file=out)
        ticker = people.tick
    return simulate(
        credentials,
        link,
        stats,
        rate=rate,
        duration=duration,
        report_every=report_every,
        out=out,
        stop=stop,
        ticker=ticker,
    )

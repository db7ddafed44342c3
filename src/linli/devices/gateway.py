"""The MQTT gateway (网关): device messages from the broker into the database, acked after commit.

One gateway process holds one MQTT 5 session (fixed client id, ``clean_start`` off, a long
session expiry) and shares the devices' topics with the other gateways through the shared
subscription ``$share/{group}/linli/v1/+/+/up/#``: the broker gives each message to one of
them. Messages arrive at QoS 1 with manual acknowledgement: the network thread only queues
them; the main thread takes batches (``batch`` messages or ``flush_ms`` after the first),
finds each topic's device, hands the batch to :func:`linli.devices.ingest.accept`, and only
when that has committed sends the PUBACKs. A refused message is acknowledged too (it was
handled) and its device gets ``{msg_id, ok: false, reason}`` on ``.../down/ack``; a stored
one gets ``ok: true`` there only if it asked (MQTT 5 user property ``ack=1``). If the
database fails, nothing of the batch is acknowledged: the gateway drops its connection,
backs off and reconnects, and the broker sends the unacknowledged messages again (the
message id makes the second copy harmless).

The same session reads the devices' last wills (``linli/v1/+/+/status`` = ``offline``) and
marks those devices offline, and publishes queued commands to ``.../down/command``.

paho-mqtt's network thread is used rather than aiomqtt: it was measured faster on our
machines and aiomqtt has no manual acknowledgement.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from django.db import DatabaseError, close_old_connections, connections, transaction
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from linli.devices import ingest, protocol
from linli.devices.actions import do_mark_command_sent
from linli.devices.broker import TOPIC_ROOT
from linli.devices.choices import CommandStatus, Transport
from linli.devices.models import Command, Device

log = logging.getLogger(__name__)

SESSION_EXPIRY_SECONDS = 7 * 24 * 3600  # the broker keeps a stopped gateway's messages
COMMAND_POLL_SECONDS = 1.0
DEVICE_CACHE_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 30.0
COMMANDS_PER_POLL = 200


@dataclasses.dataclass(frozen=True)
class Options:
    """How a gateway process connects and batches."""

    broker_url: str
    group: str = "linli"
    batch: int = 500
    flush_ms: int = 50
    client_id: str = ""
    session_expiry: int = SESSION_EXPIRY_SECONDS
    command_poll_seconds: float = COMMAND_POLL_SECONDS
    device_cache_seconds: float = DEVICE_CACHE_SECONDS

    @property
    def receive_maximum(self) -> int:
        """How many unacknowledged messages the broker may send us: two batches."""
        return min(65535, max(2 * self.batch, 20))


@dataclasses.dataclass(frozen=True)
class Received:
    """One message from the broker, waiting for its batch."""

    session: int  # which connection it came on: a PUBACK is only valid on that one
    mid: int
    qos: int
    topic: str
    payload: bytes
    wants_ack: bool


@dataclasses.dataclass(frozen=True)
class TopicParts:
    """The community and device segments of a device topic, and what follows them."""

    community: str
    device: str
    direction: str
    kind: str


def parse_topic(topic: str) -> TopicParts | None:
    """Split ``linli/v1/{community}/{device}/{up|status}[/{kind}]``; None if not a device topic."""
    parts = topic.split("/")
    if len(parts) < 5 or parts[0] != "linli" or parts[1] != protocol.VERSION:
        return None
    return TopicParts(parts[2], parts[3], parts[4], "/".join(parts[5:]))


def down_topic(community: str, device: str, kind: str) -> str:
    """Return the topic a device reads ``kind`` messages on."""
    return f"{TOPIC_ROOT}/{community}/{device}/down/{kind}"


def is_offline_notice(payload: bytes) -> bool:
    """Say whether a status payload says offline (``offline`` or ``{"status": "offline"}``)."""
    text = payload.strip()
    if text == b"offline":
        return True
    try:
        doc = json.loads(text)
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("status") == "offline"


class DeviceCache:
    """Device code → Device (with its community), refreshed on a miss and every so often."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._devices: dict[str, Device | None] = {}
        self._loaded_at = time.monotonic()

    def resolve(self, codes: set[str]) -> dict[str, Device | None]:
        """Return the devices of ``codes`` (None for an unknown code), querying the misses."""
        if time.monotonic() - self._loaded_at > self.max_age:
            self._devices.clear()
            self._loaded_at = time.monotonic()
        missing = codes - self._devices.keys()
        if missing:
            found = {
                d.code: d
                for d in Device.objects.filter(code__in=missing).select_related("community")
            }
            for code in missing:
                self._devices[code] = found.get(code)
        return {code: self._devices[code] for code in codes}

    def clear(self) -> None:
        """Forget every device (after a database error: the objects may be stale)."""
        self._devices.clear()


class Gateway:
    """One gateway process: an MQTT 5 session, a batch loop, command publishing."""

    def __init__(
        self,
        options: Options,
        *,
        accept: Callable[[Sequence[ingest.Inbound]], list[ingest.Verdict]] | None = None,
    ) -> None:
        self.options = options
        self.accept = accept or ingest.accept
        self.stop = threading.Event()
        self.inbox: queue.Queue[Received] = queue.Queue()
        self.devices = DeviceCache(options.device_cache_seconds)
        self.client_id = options.client_id or f"linli-gateway-{socket.gethostname()}"
        self._session = 0  # bumped on every (re)connection
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._next_command_poll = 0.0
        self.stored = 0
        self.refused = 0
        url = urlsplit(options.broker_url)
        if url.scheme not in ("mqtt", "tcp", ""):
            raise ValueError(f"unsupported broker URL scheme {url.scheme!r} (use mqtt://)")
        self._host = url.hostname or "127.0.0.1"
        self._port = url.port or 1883
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if url.username:
            self.client.username_pw_set(unquote(url.username), unquote(url.password or ""))
        self.client.max_inflight_messages_set(100)
        self.client.reconnect_delay_set(1, int(MAX_BACKOFF_SECONDS))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # Network thread ----------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the gateway: %s", reason)
            return
        with self._lock:
            self._session += 1
        group = self.options.group
        client.subscribe(
            [
                (f"$share/{group}/{TOPIC_ROOT}/+/+/up/#", 1),
                (f"$share/{group}/{TOPIC_ROOT}/+/+/status", 1),
            ]
        )
        self._connected.set()
        log.info(
            "gateway %s connected (session present: %s)", self.client_id, flags.session_present
        )

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self._connected.clear()
        if not self.stop.is_set():
            log.warning("gateway %s disconnected: %s", self.client_id, reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        wants_ack = False
        props = getattr(message, "properties", None)
        for key, value in getattr(props, "UserProperty", None) or ():
            if key == "ack" and value in ("1", "true"):
                wants_ack = True
        self.inbox.put(
            Received(
                self._session,
                message.mid,
                message.qos,
                message.topic,
                bytes(message.payload),
                wants_ack,
            )
        )

    # Connection --------------------------------------------------------------------

    def connect(self) -> None:
        """Open the session (keeping the broker's copy of it) and start the network thread."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.options.session_expiry
        props.ReceiveMaximum = self.options.receive_maximum
        self.client.connect(
            self._host, self._port, keepalive=30, clean_start=False, properties=props
        )
        self.client.loop_start()

    def disconnect(self) -> None:
        """Close the session for now (the broker keeps it and queues for it)."""
        self._connected.clear()
        self.client.disconnect()
        self.client.loop_stop()

    def _reconnect_after_database_error(self, attempt: int) -> None:
        """Drop the connection so the broker resends what was not acked; wait; come back."""
        self.disconnect()
        self._drain()
        self.devices.clear()
        connections.close_all()
        delay = min(MAX_BACKOFF_SECONDS, 0.5 * 2**attempt)
        log.warning("database error: reconnecting in %.1f s", delay)
        self.stop.wait(delay)
        self._connect_with_retry()

    def _drain(self) -> None:
        """Forget queued messages: their PUBACKs would go nowhere; the broker resends them."""
        while True:
            try:
                self.inbox.get_nowait()
            except queue.Empty:
                return

    # Main loop ---------------------------------------------------------------------

    def _connect_with_retry(self) -> None:
        delay = 1.0
        while not self.stop.is_set():
            try:
                self.connect()
                return
            except OSError as exc:
                log.warning("broker unreachable (%s): retrying in %.0f s", exc, delay)
                self.stop.wait(delay)
                delay = min(MAX_BACKOFF_SECONDS, delay * 2)

    def run(self) -> None:
        """Connect and handle messages until :attr:`stop` is set."""
        self._connect_with_retry()
        failures = 0
        try:
            while not self.stop.is_set():
                batch = self._take_batch()
                try:
                    if batch:
                        self.handle(batch)
                    self._maybe_publish_commands()
                    failures = 0
                except DatabaseError:
                    log.exception("database error; nothing of this batch is acknowledged")
                    failures += 1
                    self._reconnect_after_database_error(failures)
        finally:
            self.disconnect()
            connections.close_all()
            log.info(
                "gateway %s stopped: %d messages stored, %d refused",
                self.client_id,
                self.stored,
                self.refused,
            )

    def _take_batch(self) -> list[Received]:
        """Wait for a message; then take more until the batch is full or flush_ms passed."""
        try:
            first = self.inbox.get(timeout=min(0.5, self.options.command_poll_seconds))
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.options.flush_ms / 1000
        while len(batch) < self.options.batch:
            left = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=left) if left > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def handle(self, batch: list[Received]) -> None:
        """Store a batch, then acknowledge it and answer the devices (raises DatabaseError)."""
        close_old_connections()
        current = [r for r in batch if r.session == self._session]
        up: list[tuple[Received, TopicParts]] = []
        status: list[tuple[Received, TopicParts]] = []
        strays: list[Received] = []
        for r in current:
            parts = parse_topic(r.topic)
            if parts is None or parts.direction not in ("up", "status"):
                strays.append(r)
            elif parts.direction == "up":
                up.append((r, parts))
            else:
                status.append((r, parts))
        devices = self.devices.resolve({p.device for _, p in up + status})
        verdicts: list[ingest.Verdict] = []
        if up:
            verdicts = self.accept(
                [
                    ingest.Inbound(r.payload, Transport.MQTT, devices[p.device], p.community)
                    for r, p in up
                ]
            )
        if status:
            self._handle_status(status, devices)
        # Committed: now the broker may forget these messages.
        for r in strays:
            log.warning("message on an unexpected topic %r ignored", r.topic)
        for (r, parts), verdict in zip(up, verdicts, strict=True):
            if verdict.ok:
                self.stored += 1
            else:
                self.refused += 1
            if not verdict.ok or r.wants_ack:
                answer = protocol.Ack(
                    msg_id=verdict.msg_id[:64], ok=verdict.ok, reason=verdict.reason[:40]
                )
                self.client.publish(
                    down_topic(parts.community, parts.device, "ack"),
                    answer.model_dump_json(),
                    qos=1,
                )
        for r in current:
            if r.qos > 0 and r.session == self._session:
                self.client.ack(r.mid, r.qos)

    def _handle_status(
        self, status: list[tuple[Received, TopicParts]], devices: dict[str, Device | None]
    ) -> None:
        """Mark devices whose last will says ``offline`` offline."""
        from linli.devices.status import mark_offline

        now = dt.datetime.now(dt.UTC)
        for r, parts in status:
            device = devices[parts.device]
            if device is None or device.community.code != parts.community:
                log.warning("status message on %r for no device of that community", r.topic)
                continue
            if is_offline_notice(r.payload):
                mark_offline(device, "last_will", now)

    # Commands ----------------------------------------------------------------------

    def _maybe_publish_commands(self) -> None:
        if time.monotonic() < self._next_command_poll or not self._connected.is_set():
            return
        self._next_command_poll = time.monotonic() + self.options.command_poll_seconds
        self.publish_commands()

    def publish_commands(self) -> int:
        """Publish queued commands (QoS 1) and mark them sent with a deadline; return how many.

        Rows are locked (skipped by other gateways) while published, and marked sent in the
        same transaction: a crash in between leaves them queued, so a command may reach a
        device twice, never not at all; the device answers a repeated ``msg_id`` once.
        """
        close_old_connections()
        now = dt.datetime.now(dt.UTC)
        with transaction.atomic():
            commands = list(
                Command.objects.filter(status=CommandStatus.QUEUED, device__enabled=True)
                .exclude(deadline__lte=now)  # too late: the worker times it out
                .select_related("device", "community")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("created_at", "id")[:COMMANDS_PER_POLL]
            )
            for command in commands:
                # The deadline do_mark_command_sent will record for this delivery.
                deadline = now + dt.timedelta(seconds=command.timeout_seconds)
                message = protocol.CommandMessage(
                    msg_id=command.msg_id,
                    device_id=command.device.code,
                    ts=int(now.timestamp() * 1000),
                    payload=protocol.CommandPayload(
                        name=command.name,
                        params=command.params,
                        deadline_ts=int(deadline.timestamp() * 1000),
                    ),
                )
                self.client.publish(
                    down_topic(command.community.code, command.device.code, "command"),
                    message.model_dump_json(),
                    qos=1,
                )
                do_mark_command_sent(command.pk, now)
        if commands:
            log.info("published %d commands", len(commands))
        return len(commands)


def run(options: Options) -> None:
    """Run a gateway until SIGINT or SIGTERM."""
    import signal

    gateway = Gateway(options)

    def stop(signum: int, frame: Any) -> None:
        gateway.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "gateway %s: %s, $share/%s, batch %d / %d ms",
        gateway.client_id,
        options.broker_url.split("@")[-1],
        options.group,
        options.batch,
        options.flush_ms,
    )
    gateway.run()

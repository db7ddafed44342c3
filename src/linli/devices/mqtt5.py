"""A small MQTT 5 client for the gateway: bulk receive, batched acknowledgements.

The gateway is a subscriber that must acknowledge each QoS 1 message only after its batch
is committed, at thousands of messages a second on a small machine. General clients spend
most of their time per message: a system call or three to read each packet, an object and a
callback per message, a wake-up of the network thread per acknowledgement. This client
reads the socket in large chunks and decodes every complete packet in the buffer at once
(:class:`Decoder`), hands the gateway whole lists of messages, and writes the PUBACKs of a
batch with one ``sendall``.

It implements what a gateway needs of MQTT 5.0 (OASIS Standard, 7 March 2019) and no more:
CONNECT (username and password, clean start, session expiry, receive maximum), SUBSCRIBE
(QoS 1 maximum), PUBLISH both ways at QoS 0 and 1 (its own QoS 1 messages are kept until
acknowledged, resent with DUP after a reconnection and limited to the broker's Receive
Maximum), PUBACK, PINGREQ keep-alive, DISCONNECT (with a session expiry to end a session).
It never asks for topic aliases, QoS 2 or enhanced authentication; a broker that sends them
anyway breaks the protocol and the connection is closed (the gateway reconnects).

Threads: one reader thread per connection (started by :meth:`Client.connect`) decodes and
delivers; any thread may publish or acknowledge (writes are serialised by a lock).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

log = logging.getLogger(__name__)

# Packet types (the high nibble of the first byte).
CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
PUBREC, PUBREL, PUBCOMP = 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 8, 9, 10, 11
PINGREQ, PINGRESP, DISCONNECT, AUTH = 12, 13, 14, 15

# Property identifiers and how each is encoded (MQTT 5.0 §2.2.2.2).
_BYTE, _U16, _U32, _VARINT, _STR, _BIN, _PAIR = range(7)
PROPERTY_TYPES: dict[int, int] = {
    0x01: _BYTE,  # Payload Format Indicator
    0x02: _U32,  # Message Expiry Interval
    0x03: _STR,  # Content Type
    0x08: _STR,  # Response Topic
    0x09: _BIN,  # Correlation Data
    0x0B: _VARINT,  # Subscription Identifier
    0x11: _U32,  # Session Expiry Interval
    0x12: _STR,  # Assigned Client Identifier
    0x13: _U16,  # Server Keep Alive
    0x15: _STR,  # Authentication Method
    0x16: _BIN,  # Authentication Data
    0x17: _BYTE,  # Request Problem Information
    0x18: _U32,  # Will Delay Interval
    0x19: _BYTE,  # Request Response Information
    0x1A: _STR,  # Response Information
    0x1C: _STR,  # Server Reference
    0x1F: _STR,  # Reason String
    0x21: _U16,  # Receive Maximum
    0x22: _U16,  # Topic Alias Maximum
    0x23: _U16,  # Topic Alias
    0x24: _BYTE,  # Maximum QoS
    0x25: _BYTE,  # Retain Available
    0x26: _PAIR,  # User Property
    0x27: _U32,  # Maximum Packet Size
    0x28: _BYTE,  # Wildcard Subscription Available
    0x29: _BYTE,  # Subscription Identifier Available
    0x2A: _BYTE,  # Shared Subscription Available
}
SESSION_EXPIRY = 0x11
ASSIGNED_CLIENT_ID = 0x12
SERVER_KEEP_ALIVE = 0x13
REASON_STRING = 0x1F
RECEIVE_MAXIMUM = 0x21
TOPIC_ALIAS = 0x23
USER_PROPERTY = 0x26

MAX_PACKET_ID = 65535
READ_CHUNK = 256 * 1024


class ProtocolError(Exception):
    """The peer sent something MQTT 5 does not allow (or this client does not support)."""


class ConnectionLost(Exception):
    """The connection closed, failed, or went silent past the keep-alive."""


class Refused(Exception):
    """The broker refused the connection or a subscription; ``code`` is its reason code."""

    def __init__(self, what: str, code: int, reason: str = "") -> None:
        super().__init__(f"{what} refused: reason code 0x{code:02x} {reason}".rstrip())
        self.code = code


# Encoding --------------------------------------------------------------------------------


def varint(n: int) -> bytes:
    """Encode a Variable Byte Integer (0 … 268,435,455)."""
    if not 0 <= n <= 268_435_455:
        raise ValueError(f"variable byte integer out of range: {n}")
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _str(s: str) -> bytes:
    data = s.encode()
    if len(data) > 65535:
        raise ValueError("string longer than 65,535 bytes")
    return struct.pack("!H", len(data)) + data


def _bin(b: bytes) -> bytes:
    if len(b) > 65535:
        raise ValueError("binary data longer than 65,535 bytes")
    return struct.pack("!H", len(b)) + b


def encode_properties(props: Iterable[tuple[int, Any]]) -> bytes:
    """Encode ``(identifier, value)`` pairs as a property block (its length first)."""
    body = bytearray()
    for ident, value in props:
        kind = PROPERTY_TYPES[ident]
        body += varint(ident)
        if kind == _BYTE:
            body.append(value)
        elif kind == _U16:
            body += struct.pack("!H", value)
        elif kind == _U32:
            body += struct.pack("!I", value)
        elif kind == _VARINT:
            body += varint(value)
        elif kind == _STR:
            body += _str(value)
        elif kind == _BIN:
            body += _bin(value)
        else:
            body += _str(value[0]) + _str(value[1])
    return varint(len(body)) + bytes(body)


def packet(first_byte: int, body: bytes) -> bytes:
    """Frame ``body`` with its fixed header."""
    return bytes([first_byte]) + varint(len(body)) + body


def encode_connect(
    client_id: str,
    *,
    username: str | None = None,
    password: str | None = None,
    clean_start: bool = False,
    keepalive: int = 30,
    properties: Sequence[tuple[int, Any]] = (),
) -> bytes:
    """Encode CONNECT (no will: a gateway's absence is seen by its peers, not announced)."""
    flags = 0x02 if clean_start else 0
    payload = _str(client_id)
    if username is not None:
        flags |= 0x80
        payload += _str(username)
    if password is not None:
        flags |= 0x40
        payload += _bin(password.encode())
    header = _str("MQTT") + bytes([5, flags]) + struct.pack("!H", keepalive)
    return packet(CONNECT << 4, header + encode_properties(properties) + payload)


def encode_subscribe(packet_id: int, filters: Sequence[tuple[str, int]]) -> bytes:
    """Encode SUBSCRIBE of ``(filter, maximum QoS)`` pairs."""
    body = struct.pack("!H", packet_id) + encode_properties(())
    for topic_filter, qos in filters:
        body += _str(topic_filter) + bytes([qos & 0x03])
    return packet(SUBSCRIBE << 4 | 0x02, body)


def encode_unsubscribe(packet_id: int, filters: Sequence[str]) -> bytes:
    """Encode UNSUBSCRIBE."""
    body = struct.pack("!H", packet_id) + encode_properties(())
    for topic_filter in filters:
        body += _str(topic_filter)
    return packet(UNSUBSCRIBE << 4 | 0x02, body)


def encode_publish(
    topic: str,
    payload: bytes,
    *,
    qos: int = 0,
    packet_id: int = 0,
    dup: bool = False,
    retain: bool = False,
    properties: Sequence[tuple[int, Any]] = (),
) -> bytes:
    """Encode PUBLISH."""
    first = PUBLISH << 4 | (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = _str(topic)
    if qos:
        body += struct.pack("!H", packet_id)
    return packet(first, body + encode_properties(properties) + payload)


def encode_puback(packet_id: int) -> bytes:
    """Encode a successful PUBACK (the short form: reason code 0 is implied)."""
    return bytes((PUBACK << 4, 2, packet_id >> 8, packet_id & 0xFF))


PINGREQ_PACKET = bytes((PINGREQ << 4, 0))


def encode_disconnect(reason: int = 0, properties: Sequence[tuple[int, Any]] = ()) -> bytes:
    """Encode DISCONNECT."""
    return packet(DISCONNECT << 4, bytes([reason]) + encode_properties(properties))


# Decoding --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """One PUBLISH received."""

    topic: str
    payload: bytes
    qos: int
    packet_id: int  # 0 for QoS 0
    properties: dict[int, Any]  # only present when the packet had any (user properties: list)
    dup: bool = False
    retain: bool = False

    def user_properties(self) -> list[tuple[str, str]]:
        """Return the User Property pairs, in order."""
        value = self.properties.get(USER_PROPERTY)
        return list(value) if value else []


def _read_varint(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    """Decode a Variable Byte Integer at ``pos``; return (value, next pos); -1 if incomplete."""
    value = 0
    shift = 0
    for i in range(4):
        if pos + i >= len(buf):
            return -1, pos
        byte = buf[pos + i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos + i + 1
        shift += 7
    raise ProtocolError("malformed variable byte integer")


def decode_properties(data: bytes, pos: int) -> tuple[dict[int, Any], int]:
    """Decode a property block at ``pos``; return (properties, position after the block)."""
    length, pos = _read_varint(data, pos)
    if length < 0:
        raise ProtocolError("truncated property length")
    end = pos + length
    if end > len(data):
        raise ProtocolError("property block longer than the packet")
    props: dict[int, Any] = {}
    try:
        while pos < end:
            ident, pos = _read_varint(data, pos)
            kind = PROPERTY_TYPES.get(ident)
            if kind is None:
                raise ProtocolError(f"unknown property 0x{ident:02x}")
            value: Any
            if kind == _BYTE:
                value, pos = data[pos], pos + 1
            elif kind == _U16:
                (value,), pos = struct.unpack_from("!H", data, pos), pos + 2
            elif kind == _U32:
                (value,), pos = struct.unpack_from("!I", data, pos), pos + 4
            elif kind == _VARINT:
                value, pos = _read_varint(data, pos)
            elif kind == _BIN:
                (n,) = struct.unpack_from("!H", data, pos)
                value, pos = bytes(data[pos + 2 : pos + 2 + n]), pos + 2 + n
            elif kind == _STR:
                (n,) = struct.unpack_from("!H", data, pos)
                value, pos = bytes(data[pos + 2 : pos + 2 + n]).decode(), pos + 2 + n
            else:
                (n,) = struct.unpack_from("!H", data, pos)
                key = bytes(data[pos + 2 : pos + 2 + n]).decode()
                pos += 2 + n
                (n,) = struct.unpack_from("!H", data, pos)
                val = bytes(data[pos + 2 : pos + 2 + n]).decode()
                pos += 2 + n
                props.setdefault(USER_PROPERTY, []).append((key, val))
                continue
            props[ident] = value
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"malformed properties: {exc}") from exc
    if pos != end:
        raise ProtocolError("property block length mismatch")
    return props, end


class Decoder:
    """Split a byte stream into packets: feed it bytes, take ``(type, flags, body)`` out."""

    def __init__(self, max_packet: int = 16 * 1024 * 1024) -> None:
        self._buf = bytearray()
        self.max_packet = max_packet

    def feed(self, data: bytes) -> Iterator[tuple[int, int, bytes]]:
        """Add ``data``; yield every packet now complete, in order."""
        buf = self._buf
        buf += data
        pos = 0
        end = len(buf)
        try:
            while end - pos >= 2:
                first = buf[pos]
                # Inline fast path for a one- or two-byte remaining length (packets < 16 KiB).
                b1 = buf[pos + 1]
                if b1 < 0x80:
                    length, start = b1, pos + 2
                else:
                    length, start = _read_varint(buf, pos + 1)
                    if length < 0:
                        break
                if length > self.max_packet:
                    raise ProtocolError(f"packet of {length} bytes exceeds {self.max_packet}")
                stop = start + length
                if stop > end:
                    break
                yield first >> 4, first & 0x0F, bytes(buf[start:stop])
                pos = stop
        finally:
            del buf[:pos]


def decode_publish(flags: int, body: bytes) -> Message:
    """Decode a PUBLISH body."""
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise ProtocolError("PUBLISH with QoS 3")
    try:
        (n,) = struct.unpack_from("!H", body, 0)
        topic = body[2 : 2 + n].decode()
        pos = 2 + n
        packet_id = 0
        if qos:
            (packet_id,) = struct.unpack_from("!H", body, pos)
            pos += 2
        if body[pos] == 0:  # no properties: the common case
            props: dict[int, Any] = {}
            pos += 1
        else:
            props, pos = decode_properties(body, pos)
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"malformed PUBLISH: {exc}") from exc
    if TOPIC_ALIAS in props:
        raise ProtocolError("topic alias received though none was allowed")
    return Message(topic, body[pos:], qos, packet_id, props, bool(flags & 0x08), bool(flags & 1))


def _reason_of(body: bytes, pos: int) -> tuple[int, dict[int, Any]]:
    """Decode the reason code and properties that end CONNACK, PUBACK, DISCONNECT …."""
    if pos >= len(body):
        return 0, {}
    code = body[pos]
    if pos + 1 >= len(body):
        return code, {}
    props, _end = decode_properties(body, pos + 1)
    return code, props


# The client ------------------------------------------------------------------------------


@dataclasses.dataclass
class Session:
    """What the broker said when it accepted the connection."""

    present: bool
    receive_maximum: int
    keepalive: int
    client_id: str
    properties: dict[int, Any]


class Client:
    """One MQTT 5 connection at a time, with a reader thread; reconnect by calling connect.

    ``on_messages(session_number, messages)`` is called on the reader thread with every
    PUBLISH decoded from one read (keep it quick: queue them); ``on_lost(exc)`` when a
    connection ends other than by :meth:`disconnect`. QoS 1 messages must be acknowledged
    with :meth:`ack` on the connection they came on (``session_number``).
    """

    def __init__(
        self,
        client_id: str,
        *,
        username: str | None = None,
        password: str | None = None,
        keepalive: int = 30,
        on_messages: Callable[[int, list[Message]], None] | None = None,
        on_lost: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.client_id = client_id
        self.username = username
        self.password = password
        self.keepalive = keepalive
        self.on_messages = on_messages or (lambda number, messages: None)
        self.on_lost = on_lost or (lambda exc: None)
        self.number = 0  # bumped on every connection
        self.session: Session | None = None
        self._sock: socket.socket | None = None
        self._write = threading.Lock()
        self._state = threading.Condition()
        self._reader: threading.Thread | None = None
        self._closing = False
        self._last_write = 0.0
        self._last_read = 0.0
        self._ping_sent = 0.0
        self._next_id = 0
        # Our QoS 1 messages: packet id -> encoded PUBLISH, until the broker acknowledges.
        self._inflight: dict[int, bytes] = {}
        self._waiting: collections.deque[tuple[str, bytes, Sequence[tuple[int, Any]]]] = (
            collections.deque()
        )
        self._pumping = False  # a thread is sending waiting messages (one at a time, in order)
        self._acks: dict[int, threading.Event] = {}
        self._subacks: dict[int, list[int]] = {}  # SUBACK / UNSUBACK reason codes by id
        self._requests: set[int] = set()  # packet ids of SUBSCRIBE / UNSUBSCRIBE in flight

    # Connecting ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Say whether a connection is up."""
        return self._sock is not None

    def connect(
        self,
        host: str,
        port: int,
        *,
        clean_start: bool = False,
        properties: Sequence[tuple[int, Any]] = (),
        timeout: float = 10.0,
    ) -> Session:
        """Connect, wait for CONNACK, start the reader; resend our unacknowledged messages."""
        self.close()
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        decoder = Decoder()
        try:
            sock.sendall(
                encode_connect(
                    self.client_id,
                    username=self.username,
                    password=self.password,
                    clean_start=clean_start,
                    keepalive=self.keepalive,
                    properties=properties,
                )
            )
            deadline = time.monotonic() + timeout
            first: tuple[int, int, bytes] | None = None
            rest: list[tuple[int, int, bytes]] = []
            while first is None:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                data = sock.recv(READ_CHUNK)
                if not data:
                    raise ConnectionLost("broker closed the connection before CONNACK")
                packets = list(decoder.feed(data))
                if packets:
                    first, rest = packets[0], packets[1:]
        except (OSError, ProtocolError):
            sock.close()
            raise
        kind, _flags, body = first
        if kind != CONNACK or len(body) < 2:
            sock.close()
            raise ProtocolError(f"expected CONNACK, got packet type {kind}")
        code, props = _reason_of(body, 1)
        if code >= 0x80:
            sock.close()
            raise Refused("connection", code, props.get(REASON_STRING, ""))
        session = Session(
            present=bool(body[0] & 1),
            receive_maximum=props.get(RECEIVE_MAXIMUM, 65535),
            keepalive=props.get(SERVER_KEEP_ALIVE, self.keepalive),
            client_id=props.get(ASSIGNED_CLIENT_ID, self.client_id),
            properties=props,
        )
        sock.settimeout(1.0)
        with self._state:
            self.number += 1
            self.session = session
            self._sock = sock
            self._closing = False
            self._last_read = self._last_write = time.monotonic()
            self._ping_sent = 0.0
            self._subacks.clear()
        number = self.number
        self._reader = threading.Thread(
            target=self._read_loop,
            args=(sock, decoder, number, rest),
            name=f"mqtt-reader-{self.client_id}",
            daemon=True,
        )
        self._reader.start()
        self._resend()
        return session

    def subscribe(self, filters: Sequence[tuple[str, int]], timeout: float = 10.0) -> list[int]:
        """Subscribe and wait for SUBACK; return its reason codes (raise on a refusal)."""
        codes = self._request(lambda pid: encode_subscribe(pid, filters), "SUBACK", timeout)
        for (topic_filter, _qos), code in zip(filters, codes, strict=False):
            if code >= 0x80:
                raise Refused(f"subscription to {topic_filter!r}", code)
        return codes

    def unsubscribe(self, filters: Sequence[str], timeout: float = 10.0) -> list[int]:
        """Unsubscribe and wait for UNSUBACK; return its reason codes."""
        return self._request(lambda pid: encode_unsubscribe(pid, filters), "UNSUBACK", timeout)

    def _request(self, encode: Callable[[int], bytes], answer: str, timeout: float) -> list[int]:
        packet_id = self._take_id()
        with self._state:
            self._subacks.pop(packet_id, None)
            self._requests.add(packet_id)
        try:
            self._send(encode(packet_id))
            deadline = time.monotonic() + timeout
            with self._state:
                while packet_id not in self._subacks:
                    left = deadline - time.monotonic()
                    if left <= 0 or self._sock is None:
                        raise ConnectionLost(f"no {answer}")
                    self._state.wait(left)
                return self._subacks.pop(packet_id)
        finally:
            with self._state:
                self._requests.discard(packet_id)

    def disconnect(self, *, session_expiry: int | None = None) -> None:
        """Say DISCONNECT (optionally changing the session expiry, e.g. 0 to end it); close."""
        props = [(SESSION_EXPIRY, session_expiry)] if session_expiry is not None else []
        with self._state:
            self._closing = True
        with contextlib.suppress(ConnectionLost, OSError):
            self._send(encode_disconnect(0, props))
        self.close()

    def close(self) -> None:
        """Close the connection without a word (a broker sees a network failure)."""
        with self._state:
            self._closing = True
            sock, self._sock = self._sock, None
            self._state.notify_all()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=5)
        self._reader = None

    # Sending ---------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        with self._write:
            sock = self._sock
            if sock is None:
                raise ConnectionLost("not connected")
            try:
                sock.sendall(data)
            except OSError as exc:
                raise ConnectionLost(str(exc)) from exc
            self._last_write = time.monotonic()

    def ack(self, number: int, packet_ids: Iterable[int]) -> int:
        """Acknowledge QoS 1 messages of connection ``number``, in one write; return how many.

        Messages of an earlier connection are skipped: the broker sends them again.
        """
        if number != self.number:
            return 0
        data = b"".join(encode_puback(pid) for pid in packet_ids if pid)
        if data:
            try:
                self._send(data)
            except ConnectionLost:
                return 0
        return len(data) // 4

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        *,
        qos: int = 1,
        properties: Sequence[tuple[int, Any]] = (),
    ) -> None:
        """Publish; a QoS 1 message is kept until acknowledged (resent after a reconnection).

        Never blocks on the broker: beyond its Receive Maximum messages wait here.
        """
        data = payload.encode() if isinstance(payload, str) else payload
        if qos == 0:
            self._send(encode_publish(topic, data, properties=properties))
            return
        if qos != 1:
            raise ValueError("this client publishes at QoS 0 or 1")
        with self._state:
            self._waiting.append((topic, data, properties))
        self._pump()

    def _pump(self) -> None:
        """Send waiting QoS 1 messages while the broker's Receive Maximum allows.

        One thread sends at a time, so messages leave in the order they were published: the
        publisher and the reader (freeing room with each PUBACK) both call this, and two of
        them taking a message each could otherwise send the later one first. A caller that
        finds another thread pumping returns at once; that thread looks for room and waiting
        messages again before it stops, under the same lock.
        """
        with self._state:
            if self._pumping:
                return
            self._pumping = True
        try:
            while True:
                with self._state:
                    limit = self.session.receive_maximum if self.session else 0
                    if not self._waiting or len(self._inflight) >= limit or self._sock is None:
                        self._pumping = False
                        return
                    topic, data, props = self._waiting.popleft()
                    packet_id = self._take_id_locked()
                    encoded = encode_publish(
                        topic, data, qos=1, packet_id=packet_id, properties=props
                    )
                    self._inflight[packet_id] = encoded
                self._send(encoded)
        except BaseException as exc:  # the flag is still ours: it is only cleared above
            with self._state:
                self._pumping = False
            if not isinstance(exc, ConnectionLost):
                raise
            # A message whose send failed stays in flight: resent on the next connection.

    def _resend(self) -> None:
        """Resend unacknowledged messages (DUP set) after connecting, then the waiting ones."""
        with self._state:
            again = [bytes([d[0] | 0x08]) + d[1:] for d in self._inflight.values()]
        for data in again:
            try:
                self._send(data)
            except ConnectionLost:
                return
        self._pump()

    @property
    def unacknowledged(self) -> int:
        """How many of our QoS 1 messages the broker has not acknowledged yet."""
        with self._state:
            return len(self._inflight) + len(self._waiting)

    def wait_published(self, timeout: float) -> bool:
        """Wait until the broker acknowledged every QoS 1 message published so far."""
        deadline = time.monotonic() + timeout
        with self._state:
            while self._inflight or self._waiting:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._state.wait(min(left, 0.1))
        return True

    def _take_id(self) -> int:
        with self._state:
            return self._take_id_locked()

    def _take_id_locked(self) -> int:
        for _ in range(MAX_PACKET_ID):
            self._next_id = self._next_id % MAX_PACKET_ID + 1
            if self._next_id not in self._inflight and self._next_id not in self._requests:
                return self._next_id
        raise ConnectionLost("no free packet identifier")

    # Reading ---------------------------------------------------------------------------

    def _read_loop(
        self,
        sock: socket.socket,
        decoder: Decoder,
        number: int,
        first: list[tuple[int, int, bytes]],
    ) -> None:
        error: BaseException | None = None
        try:
            self._handle(number, first)
            while True:
                try:
                    data = sock.recv(READ_CHUNK)
                except TimeoutError:
                    data = None
                if data == b"":
                    raise ConnectionLost("broker closed the connection")
                now = time.monotonic()
                if data:
                    self._last_read = now
                    self._handle(number, decoder.feed(data))
                self._keep_alive(now)
        except (OSError, ConnectionLost, ProtocolError) as exc:
            error = exc
        except Exception as exc:  # a bug in a callback must not leave a silent connection
            log.exception("MQTT reader failed")
            error = exc
        with self._state:
            expected = self._closing or self._sock is not sock
            if self._sock is sock:
                self._sock = None
            self._state.notify_all()
        with contextlib.suppress(OSError):
            sock.close()
        if not expected and error is not None:
            self.on_lost(error)

    def _keep_alive(self, now: float) -> None:
        keepalive = self.session.keepalive if self.session else self.keepalive
        if not keepalive:
            return
        if self._ping_sent and now - self._ping_sent > keepalive:
            raise ConnectionLost("no PINGRESP within the keep-alive")
        if not self._ping_sent and now - self._last_write >= keepalive / 2:
            self._ping_sent = now
            self._send(PINGREQ_PACKET)

    def _handle(self, number: int, packets: Iterable[tuple[int, int, bytes]]) -> None:
        messages: list[Message] = []
        acked = False
        for kind, flags, body in packets:
            if kind == PUBLISH:
                message = decode_publish(flags, body)
                if message.qos > 1:
                    raise ProtocolError("QoS 2 PUBLISH on a QoS 1 subscription")
                messages.append(message)
            elif kind == PUBACK:
                if len(body) < 2:
                    raise ProtocolError("short PUBACK")
                packet_id = body[0] << 8 | body[1]
                code, _props = _reason_of(body, 2)
                if code >= 0x80:
                    log.warning("broker refused our message %d: 0x%02x", packet_id, code)
                with self._state:
                    self._inflight.pop(packet_id, None)
                acked = True
            elif kind == PINGRESP:
                self._ping_sent = 0.0
            elif kind in (SUBACK, UNSUBACK):
                packet_id = body[0] << 8 | body[1]
                _props, pos = decode_properties(body, 2)
                with self._state:
                    self._subacks[packet_id] = list(body[pos:])
                    self._state.notify_all()
            elif kind == DISCONNECT:
                code, props = _reason_of(body, 0)
                raise ConnectionLost(
                    f"broker disconnected: 0x{code:02x} {props.get(REASON_STRING, '')}".rstrip()
                )
            else:
                raise ProtocolError(f"unexpected packet type {kind}")
        if messages:
            self.on_messages(number, messages)
        if acked:
            with self._state:
                self._state.notify_all()
            self._pump()


__all__ = [
    "Client",
    "ConnectionLost",
    "Decoder",
    "Message",
    "ProtocolError",
    "Refused",
    "Session",
    "decode_properties",
    "decode_publish",
    "encode_connect",
    "encode_properties",
    "encode_puback",
    "encode_publish",
    "encode_subscribe",
    "encode_unsubscribe",
]

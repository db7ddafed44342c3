"""The gateway's MQTT 5 client: the codec (property tests) and a real Mosquitto session."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.devices import mqtt5
from tests.mqtt_broker import Broker, free_port, running_broker

# Codec -------------------------------------------------------------------------------

pytestmark = pytest.mark.db_independent


@given(st.integers(min_value=0, max_value=268_435_455))
def test_variable_byte_integers_round_trip(n: int) -> None:
    data = mqtt5.varint(n)
    assert len(data) == (1 if n < 128 else 2 if n < 16384 else 3 if n < 2_097_152 else 4)
    assert mqtt5._read_varint(data + b"rest", 0) == (n, len(data))
    assert mqtt5._read_varint(data[:-1], 0)[0] == -1  # incomplete: wait for more


def test_out_of_range_and_malformed_variable_byte_integers() -> None:
    with pytest.raises(ValueError, match="out of range"):
        mqtt5.varint(268_435_456)
    with pytest.raises(mqtt5.ProtocolError):
        mqtt5._read_varint(b"\xff\xff\xff\xff\x01", 0)


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
user_pairs = st.lists(st.tuples(texts, texts), max_size=4)


@given(
    topic=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60),
    payload=st.binary(max_size=3000),
    qos=st.sampled_from([0, 1]),
    packet_id=st.integers(1, 65535),
    users=user_pairs,
    expiry=st.none() | st.integers(0, 2**32 - 1),
    chunk=st.integers(1, 97),
)
def test_publish_packets_survive_any_split_of_the_stream(
    topic: str,
    payload: bytes,
    qos: int,
    packet_id: int,
    users: list[tuple[str, str]],
    expiry: int | None,
    chunk: int,
) -> None:
    props: list[tuple[int, Any]] = [(mqtt5.USER_PROPERTY, pair) for pair in users]
    if expiry is not None:
        props.append((0x02, expiry))
    one = mqtt5.encode_publish(topic, payload, qos=qos, packet_id=packet_id, properties=props)
    stream = one + mqtt5.encode_puback(packet_id) + one
    decoder = mqtt5.Decoder()
    packets = []
    for start in range(0, len(stream), chunk):
        packets.extend(decoder.feed(stream[start : start + chunk]))
    assert [kind for kind, _f, _b in packets] == [mqtt5.PUBLISH, mqtt5.PUBACK, mqtt5.PUBLISH]
    for _kind, flags, body in (packets[0], packets[2]):
        message = mqtt5.decode_publish(flags, body)
        assert (message.topic, message.payload, message.qos) == (topic, payload, qos)
        assert message.packet_id == (packet_id if qos else 0)
        assert message.user_properties() == users
        assert message.properties.get(0x02) == expiry
    assert packets[1][2] == struct.pack("!H", packet_id)


def test_a_connect_packet_has_the_fields_of_the_standard() -> None:
    data = mqtt5.encode_connect(
        "gw-1",
        username="linli-gateway",
        password="pw",
        clean_start=False,
        keepalive=30,
        properties=[(mqtt5.SESSION_EXPIRY, 3600), (mqtt5.RECEIVE_MAXIMUM, 1000)],
    )
    ((kind, flags, body),) = list(mqtt5.Decoder().feed(data))
    assert (kind, flags) == (mqtt5.CONNECT, 0)
    assert body[:7] == b"\x00\x04MQTT\x05"
    assert body[7] == 0xC0  # username and password, no clean start, no will
    assert struct.unpack_from("!H", body, 8) == (30,)
    props, pos = mqtt5.decode_properties(body, 10)
    assert props == {mqtt5.SESSION_EXPIRY: 3600, mqtt5.RECEIVE_MAXIMUM: 1000}
    assert body[pos:] == b"\x00\x04gw-1\x00\x0dlinli-gateway\x00\x02pw"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"\x00", "malformed PUBLISH"),  # topic length cut
        (b"\x00\x05ab", "malformed PUBLISH"),  # no properties byte
        (b"\x00\x01a\x00\x01\x05\x99\x00\x00\x00\x00", "unknown property"),
        (b"\x00\x01a\x00\x01\x03\x23\x00\x01", "topic alias"),
        (b"\x00\x02\xff\xfe\x00\x01\x00", "malformed PUBLISH"),  # not UTF-8
    ],
)
def test_malformed_publish_packets_are_protocol_errors(body: bytes, error: str) -> None:
    with pytest.raises(mqtt5.ProtocolError, match=error):
        mqtt5.decode_publish(0x02, body)


@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_decoder_with_anything_but_a_protocol_error(
    data: bytes,
) -> None:
    decoder = mqtt5.Decoder(max_packet=1000)
    try:
        for kind, flags, body in decoder.feed(data):
            if kind == mqtt5.PUBLISH:
                mqtt5.decode_publish(flags, body)
    except mqtt5.ProtocolError:
        pass


def test_a_packet_beyond_the_limit_is_refused() -> None:
    decoder = mqtt5.Decoder(max_packet=100)
    with pytest.raises(mqtt5.ProtocolError, match="exceeds"):
        list(decoder.feed(mqtt5.encode_publish("t", b"x" * 200)))


def test_messages_leave_in_publish_order_when_two_threads_pump() -> None:
    """The publisher and the reader (freeing room with a PUBACK) both send waiting messages:
    a second thread must not send a later message while the first is still sending its."""
    client = mqtt5.Client("order")
    client.session = mqtt5.Session(
        present=False, receive_maximum=10, keepalive=30, client_id="order", properties={}
    )
    client._sock = socket.socket()  # "connected": what is sent is captured below
    sent: list[bytes] = []
    sending = threading.Event()
    release = threading.Event()

    def send(data: bytes) -> None:
        if not sending.is_set():
            sending.set()  # the first send is slow (this thread lost the CPU, say)
            release.wait(5)
        sent.append(data)

    client._send = send  # type: ignore[method-assign]
    try:
        first = threading.Thread(target=client.publish, args=("a/1", "m0"))
        first.start()
        assert sending.wait(5)
        client.publish("a/2", "m1")  # meanwhile, on another thread
        release.set()
        first.join(5)
        assert [d[-2:] for d in sent] == [b"m0", b"m1"]
        assert client.unacknowledged == 2 and not client._pumping
    finally:
        client._sock.close()


# Against a real broker -----------------------------------------------------------------


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    port = free_port()
    (tmp_path / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
        "persistence false\n"
    )
    with running_broker(tmp_path, port) as b:
        yield b


class Inbox:
    """Collects what a client receives; acknowledges at once unless told not to."""

    def __init__(self, client_id: str, broker: Broker, *, ack: bool = True) -> None:
        self.messages: list[mqtt5.Message] = []
        self.lost: list[BaseException] = []
        self.ready = threading.Condition()
        self.auto_ack = ack
        self.client = mqtt5.Client(client_id, on_messages=self.take, on_lost=self.lost.append)
        self.port = broker.port

    def take(self, number: int, messages: list[mqtt5.Message]) -> None:
        with self.ready:
            self.messages.extend(messages)
            self.ready.notify_all()
        if self.auto_ack:
            self.client.ack(number, [m.packet_id for m in messages])

    def wait(self, n: int, timeout: float = 10.0) -> list[mqtt5.Message]:
        with self.ready:
            assert self.ready.wait_for(lambda: len(self.messages) >= n, timeout), (
                f"{len(self.messages)} of {n} messages arrived"
            )
            return list(self.messages)

    def connect(self, *, clean: bool, expiry: int = 600) -> mqtt5.Session:
        return self.client.connect(
            "127.0.0.1",
            self.port,
            clean_start=clean,
            properties=[(mqtt5.SESSION_EXPIRY, expiry), (mqtt5.RECEIVE_MAXIMUM, 50)],
        )


def test_publish_subscribe_and_user_properties_through_mosquitto(broker: Broker) -> None:
    sub = Inbox("sub", broker)
    assert not sub.connect(clean=True).present
    assert sub.client.subscribe([("$share/g/a/#", 1), ("b/+", 0)]) == [1, 0]
    pub = mqtt5.Client("pub")
    pub.connect("127.0.0.1", broker.port, clean_start=True)
    for n in range(300):
        pub.publish(f"a/{n % 7}", f"m{n}", qos=1, properties=[(mqtt5.USER_PROPERTY, ("ack", "1"))])
    pub.publish("b/x", b"q0", qos=0)
    assert pub.wait_published(10)
    got = sub.wait(301)
    ones = [m for m in got if m.topic.startswith("a/")]
    assert [m.payload for m in ones] == [f"m{n}".encode() for n in range(300)]
    assert all(m.qos == 1 and m.user_properties() == [("ack", "1")] for m in ones)
    assert [(m.topic, m.payload, m.qos) for m in got if m.topic == "b/x"] == [("b/x", b"q0", 0)]
    pub.disconnect()
    sub.client.disconnect(session_expiry=0)
    assert not sub.lost


def test_unacknowledged_messages_come_again_after_a_reconnection(broker: Broker) -> None:
    sub = Inbox("holder", broker, ack=False)
    sub.connect(clean=True)
    sub.client.subscribe([("$share/g/t/#", 1)])
    pub = mqtt5.Client("pub")
    pub.connect("127.0.0.1", broker.port, clean_start=True)
    for n in range(20):
        pub.publish("t/1", str(n), qos=1)
    assert pub.wait_published(10)
    first = sub.wait(20)
    assert not any(m.dup for m in first)
    sub.client.close()  # a crash: nothing was acknowledged
    sub.messages.clear()
    sub.auto_ack = True
    assert sub.connect(clean=False).present
    again = sub.wait(20)
    assert [m.payload for m in again] == [str(n).encode() for n in range(20)]
    assert all(m.dup for m in again)
    sub.client.disconnect(session_expiry=0)


def test_our_messages_are_kept_until_acknowledged_and_respect_receive_maximum(
    broker: Broker,
) -> None:
    sub = Inbox("reader", broker)
    sub.connect(clean=True)
    sub.client.subscribe([("c/#", 1)])
    pub = mqtt5.Client("pub")
    session = pub.connect("127.0.0.1", broker.port, clean_start=True)
    for n in range(500):
        pub.publish("c/x", str(n), qos=1)
    # Never more in flight than the broker allows; all delivered in order in the end.
    assert len(pub._inflight) <= session.receive_maximum
    assert pub.wait_published(10) and pub.unacknowledged == 0
    assert [m.payload for m in sub.wait(500)] == [str(n).encode() for n in range(500)]
    # Messages published while disconnected wait and go out on the next connection.
    pub.close()
    pub.publish("c/x", "later", qos=1)
    assert pub.unacknowledged == 1
    pub.connect("127.0.0.1", broker.port, clean_start=True)
    assert pub.wait_published(10)
    assert sub.wait(501)[-1].payload == b"later"


def test_keep_alive_pings_and_a_lost_broker_is_reported(tmp_path: Path, broker: Broker) -> None:
    lost: list[BaseException] = []
    client = mqtt5.Client("pinger", keepalive=2, on_lost=lost.append)
    client.connect("127.0.0.1", broker.port, clean_start=True)
    time.sleep(3.5)  # past the keep-alive: PINGREQ kept the connection open
    assert client.connected and not lost
    broker.process.kill()
    broker.process.wait()
    deadline = time.monotonic() + 5
    while not lost and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lost and not client.connected
    with pytest.raises(ConnectionRefusedError):
        client.connect("127.0.0.1", broker.port, clean_start=True, timeout=1)


def test_a_refused_connection_raises_with_the_reason_code(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npersistence false\n"
    )
    with running_broker(tmp_path, port):
        client = mqtt5.Client("nobody", username="x", password="y")
        with pytest.raises(mqtt5.Refused) as caught:
            client.connect("127.0.0.1", port)
        assert caught.value.code in (0x86, 0x87)  # bad user name or password / not authorized
        assert not client.connected

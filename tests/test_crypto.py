"""Field encryption: round trip, tamper detection, key rotation, lookup hashes."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.core.crypto import CryptoError, KeyRing, generate_key

OLD = generate_key("old")
NEW = generate_key("new")

pytestmark = pytest.mark.db_independent


def test_round_trip_and_key_id() -> None:
    ring = KeyRing.parse(OLD)
    sealed = ring.seal("11010519491231002X", "person.id_number")
    assert "11010519491231002X" not in sealed
    assert ring.key_id_of(sealed) == "old"
    assert ring.open(sealed, "person.id_number") == "11010519491231002X"


@given(st.binary(max_size=2048))
def test_any_bytes_round_trip(data: bytes) -> None:
    ring = KeyRing.parse(OLD)
    assert ring.open_bytes(ring.seal(data, "biometric.face"), "biometric.face") == data


def test_every_seal_uses_a_fresh_nonce() -> None:
    ring = KeyRing.parse(OLD)
    assert ring.seal("same", "p") != ring.seal("same", "p")


def test_flipped_bit_is_detected() -> None:
    ring = KeyRing.parse(OLD)
    version, kid, b64 = ring.seal("13800138000", "person.phone").split(".", 2)
    blob = bytearray(base64.urlsafe_b64decode(b64))
    blob[-1] ^= 1
    forged = f"{version}.{kid}.{base64.urlsafe_b64encode(bytes(blob)).decode()}"
    with pytest.raises(CryptoError, match="authentication"):
        ring.open(forged, "person.phone")


def test_value_moved_to_another_column_fails() -> None:
    ring = KeyRing.parse(OLD)
    sealed = ring.seal("13800138000", "person.phone")
    with pytest.raises(CryptoError):
        ring.open(sealed, "person.id_number")


@pytest.mark.parametrize("bad", ["", "v1.old", "v2.old.AAAA", "v1.old.!!!!", "v1.old.AAAA"])
def test_malformed_values_are_refused(bad: str) -> None:
    with pytest.raises(CryptoError):
        KeyRing.parse(OLD).open(bad, "p")


def test_rotation_keeps_old_values_readable_and_reseals() -> None:
    before = KeyRing.parse(OLD)
    sealed = before.seal("secret", "p")
    after = KeyRing.parse(f"{NEW},{OLD}")
    assert after.active == "new"
    assert after.open(sealed, "p") == "secret"
    assert after.needs_rotation(sealed)
    resealed = after.reseal(sealed, "p")
    assert after.key_id_of(resealed) == "new"
    assert after.open(resealed, "p") == "secret"
    # once the old key is dropped, values not yet resealed can no longer be opened
    only_new = KeyRing.parse(NEW)
    assert only_new.open(resealed, "p") == "secret"
    with pytest.raises(CryptoError, match="not in the key ring"):
        only_new.open(sealed, "p")


def test_lookup_hash_is_stable_across_rotation_and_keyed() -> None:
    before = KeyRing.parse(OLD)
    after = KeyRing.parse(f"{NEW},{OLD}")
    assert before.lookup_hash("x", "p") == after.lookup_hash("x", "p")
    assert before.lookup_hash("x", "p") != before.lookup_hash("x", "q")
    assert before.lookup_hash("x", "p") != KeyRing.parse(NEW).lookup_hash("x", "p")


@pytest.mark.parametrize(
    "spec",
    ["", "nokey", "k1:not-base64!", "k1:" + base64.b64encode(b"short").decode(), f"{OLD},{OLD}"],
)
def test_malformed_key_rings_are_refused(spec: str) -> None:
    with pytest.raises(CryptoError):
        KeyRing.parse(spec)

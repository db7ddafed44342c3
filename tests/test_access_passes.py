"""一码通 passes: base45, signing, offline verification and every way a pass is refused."""

from __future__ import annotations

import io
import time

import pytest
import segno
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from linli.access import passes
from linli.access.passes import PassRefused, Refusal, Scope

pytestmark = pytest.mark.db_independent

KEY = passes.new_private_key()
OTHER = passes.new_private_key()
KEYS = {7: KEY.public_key()}
NOW = 1_800_000_000


def make(**kw: object) -> str:
    fields: dict[str, object] = {
        "key_id": 7,
        "community_id": 42,
        "credential_id": 1001,
        "issued_at": NOW,
        "lifetime": 30,
        "scope": Scope.DOOR,
    }
    fields.update(kw)
    key = fields.pop("key", KEY)
    return passes.issue(key, **fields)  # type: ignore[arg-type]


def check(text: str, **kw: object) -> passes.Claims:
    args: dict[str, object] = {"keys": KEYS, "community_id": 42, "now": NOW + 1}
    args.update(kw)
    return passes.verify(text, **args)  # type: ignore[arg-type]


def refused(text: str, **kw: object) -> Refusal:
    with pytest.raises(PassRefused) as caught:
        check(text, **kw)
    return caught.value.reason


@given(st.binary(max_size=300))
def test_base45_round_trips_any_bytes(data: bytes) -> None:
    text = passes.b45encode(data)
    assert set(text) <= set(passes._B45)
    assert passes.b45decode(text) == data


def test_base45_matches_the_examples_of_rfc_9285() -> None:
    assert passes.b45encode(b"AB") == "BB8"
    assert passes.b45encode(b"Hello!!") == "%69 VD92EX0"
    assert passes.b45encode(b"base-45") == "UJCLQE7W581"
    assert passes.b45decode("QED8WEX0") == b"ietf!"


@pytest.mark.parametrize("text", ["GGW", "ab", "A", "ZZZZ"])
def test_base45_refuses_what_the_rfc_forbids(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  (the message varies by fault)
        passes.b45decode(text)


@given(
    key_id=st.integers(0, 2**32 - 1),
    community_id=st.integers(0, 2**32 - 1),
    credential_id=st.integers(0, 2**64 - 1),
    issued_at=st.integers(0, 2**32 - 1),
    lifetime=st.integers(1, 60),
    scope=st.integers(1, 7),
    nonce=st.binary(min_size=8, max_size=8),
)
def test_every_pass_reads_back_what_was_signed(
    key_id: int,
    community_id: int,
    credential_id: int,
    issued_at: int,
    lifetime: int,
    scope: int,
    nonce: bytes,
) -> None:
    text = passes.issue(
        KEY,
        key_id=key_id,
        community_id=community_id,
        credential_id=credential_id,
        issued_at=issued_at,
        lifetime=lifetime,
        scope=Scope(scope),
        nonce=nonce,
    )
    assert text.startswith("LP1:") and len(text) == 4 + 143
    assert text == text.upper()  # QR alphanumeric mode: no lower case
    claims = passes.verify(
        text,
        keys={key_id: KEY.public_key()},
        community_id=community_id,
        now=issued_at,
        scope=Scope(scope),
    )
    assert claims == passes.Claims(
        key_id, community_id, credential_id, issued_at, lifetime, Scope(scope), nonce
    )


@given(position=st.integers(0, passes.PASS_BYTES - 1), flip=st.integers(1, 255))
def test_changing_any_byte_is_refused(position: int, flip: int) -> None:
    text = make()
    raw = bytearray(passes.b45decode(text[4:]))
    raw[position] ^= flip
    with pytest.raises(PassRefused) as caught:
        check("LP1:" + passes.b45encode(bytes(raw)))
    # The version byte, the key id and the signature each fail in their own way; all
    # other fields are covered by the signature.
    assert caught.value.reason in {
        Refusal.FORGED,
        Refusal.UNKNOWN_KEY,
        Refusal.UNSUPPORTED_VERSION,
    }


@given(st.text(max_size=200))
def test_random_text_is_refused_never_crashes(text: str) -> None:
    with pytest.raises(PassRefused):
        check(text)


def test_each_fault_has_its_own_reason() -> None:
    good = make()
    assert check(good).credential_id == 1001
    assert refused("hello") == Refusal.MALFORMED
    assert refused("LP1:abc") == Refusal.MALFORMED  # lower case is not base45
    assert refused(good[:-6]) == Refusal.TRUNCATED
    assert refused(good + "000") == Refusal.TRUNCATED
    assert refused(make(key=OTHER)) == Refusal.FORGED
    assert refused(make(key_id=8)) == Refusal.UNKNOWN_KEY
    assert refused(good, revoked=frozenset({7})) == Refusal.REVOKED_KEY
    assert refused(make(community_id=43)) == Refusal.WRONG_COMMUNITY
    assert refused(good, now=NOW + 30 + passes.CLOCK_SKEW + 1) == Refusal.EXPIRED
    assert check(good, now=NOW + 30 + passes.CLOCK_SKEW).credential_id == 1001
    assert refused(good, now=NOW - passes.CLOCK_SKEW - 1) == Refusal.NOT_YET_VALID
    assert refused(good, scope=Scope.PARCEL) == Refusal.WRONG_SCOPE
    both = make(scope=Scope.DOOR | Scope.VISITOR)
    assert check(both, scope=Scope.VISITOR).scope == Scope.DOOR | Scope.VISITOR


def test_a_future_format_version_is_refused_as_such() -> None:
    raw = bytearray(passes.b45decode(make()[4:]))
    raw[0] = 2
    assert refused("LP1:" + passes.b45encode(bytes(raw))) == Refusal.UNSUPPORTED_VERSION


def test_a_signature_made_for_something_else_never_verifies_as_a_pass() -> None:
    body = passes.b45decode(make()[4:])[: passes.BODY_BYTES]
    bare = KEY.sign(body)  # without the domain tag
    assert refused("LP1:" + passes.b45encode(body + bare)) == Refusal.FORGED


def test_issue_refuses_a_lifetime_over_a_minute_and_an_empty_scope() -> None:
    with pytest.raises(ValueError, match="lifetime"):
        make(lifetime=61)
    with pytest.raises(ValueError, match="scope"):
        make(scope=Scope(0))


def test_a_pass_fits_a_small_qr_code_and_reads_back_from_its_image() -> None:
    text = make(issued_at=int(time.time()))
    code = segno.make(text, error="m", micro=False)
    assert code.mode == "alphanumeric" and code.version <= 7
    png = io.BytesIO()
    code.save(png, kind="png", scale=4, border=4)
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.getvalue())))
    assert found.text == text

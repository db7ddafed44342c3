"""The offline terminal: a pass read from an image, verified with synced keys, decided locally."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image

from linli.access import actions, keys, passes, sync, terminal
from tests.conftest import World
from tests.test_access_sync import site  # noqa: F401  (the fixture)


def weekday_noon() -> dt.datetime:
    """Next weekday at 12:00 in Shanghai (inside the site's daytime schedule)."""
    day = timezone.localdate()
    while day.isoweekday() > 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=dt.timezone(dt.timedelta(hours=8)))


def synced(world: World, site: dict[str, Any]) -> terminal.OfflineTerminal:  # noqa: F811
    t = terminal.OfflineTerminal(world.a.pk)
    t.apply(sync.allowlist(site["reader"]))
    return t


def pass_at(world: World, when: dt.datetime) -> str:
    """The resident's pass as their phone would show it at ``when``."""
    credential = actions.ensure_pass(world.person_a.pk, world.a.pk)
    key_id, private = keys.cache.signer(world.a.pk)
    return passes.issue(
        private,
        key_id=key_id,
        community_id=world.a.pk,
        credential_id=credential.pk,
        issued_at=int(when.timestamp()),
    )


def test_a_pass_on_a_phone_screen_opens_the_door_offline_once(
    world: World,
    site: dict[str, Any],  # noqa: F811
) -> None:
    noon = weekday_noon()
    text = pass_at(world, noon)
    t = synced(world, site)
    image = terminal.render_qr(text)  # the phone shows it; the terminal's camera reads it
    assert terminal.read_qr(image) == text
    assert t.decide_image("gate", image, noon) == (True, "allowed")
    assert t.decide_image("gate", image, noon) == (False, "replayed")
    other = terminal.render_qr(pass_at(world, noon))
    assert t.decide_image("pool", other, noon) == (False, "no_permission")
    late = terminal.render_qr(pass_at(world, noon))
    assert t.decide_image("gate", late, noon + dt.timedelta(minutes=2)) == (False, "pass_expired")


def test_offline_rules_follow_the_schedule(
    world: World,
    site: dict[str, Any],  # noqa: F811
) -> None:
    actions.ensure_pass(world.person_a.pk, world.a.pk)
    t = synced(world, site)
    (credential_id,) = t.entries
    noon = weekday_noon()
    assert t.decide("gate", credential_id, noon) == (True, "allowed")
    night = noon.replace(hour=23)
    assert t.decide("gate", credential_id, night) == (False, "outside_schedule")
    assert t.decide("gate", 10**9, noon) == (False, "unknown_credential")


def test_cards_and_pins_match_offline(
    world: World,
    system: Any,
    site: dict[str, Any],  # noqa: F811
) -> None:
    card, _ = actions.do_issue_credential(
        system, world.person_a, world.a.pk, kind="card", value="de:ad:be:ef"
    )
    _, pin = actions.do_issue_credential(system, world.person_a, world.a.pk, kind="pin")
    t = synced(world, site)
    assert t.match("card", "DEADBEEF") == card.pk
    assert t.match("pin", pin) is not None
    assert t.match("card", "00000000") is None
    # An incremental sync removes a suspended card.
    actions.do_set_credential_status(system, card, "suspend")
    t.apply(sync.allowlist(site["reader"], t.version))
    assert t.match("card", "DEADBEEF") is None


def test_images_without_a_pass(world: World, site: dict[str, Any]) -> None:  # noqa: F811
    t = synced(world, site)
    blank = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(blank, format="PNG")
    assert t.decide_image("gate", blank.getvalue(), timezone.now()) == (False, "no_code")
    assert t.decide_image("gate", b"not an image", timezone.now()) == (False, "no_code")
    other = terminal.render_qr("https://example.org/not-a-pass")
    assert t.decide_image("gate", other, timezone.now()) == (False, "pass_malformed")


def test_a_terminal_remembers_nonces_until_their_pass_expires() -> None:
    key = passes.new_private_key()
    t = terminal.OfflineTerminal(1)
    t.keys = {1: key.public_key()}
    text = passes.issue(
        key, key_id=1, community_id=1, credential_id=9, issued_at=1_000_000, lifetime=30
    )
    t.verify_pass(text, 1_000_001)
    with pytest.raises(terminal.Replayed):
        t.verify_pass(text, 1_000_003)  # after a prune, still inside the pass's lifetime
    others = [
        passes.issue(key, key_id=1, community_id=1, credential_id=n, issued_at=1_000_100)
        for n in range(50)
    ]
    for other in others:
        t.verify_pass(other, 1_000_101)
    assert len(t._seen) == 50  # the first pass's nonce was forgotten once it expired

"""The credentials panel of a person's page: issue, suspend, revoke, consent; roles."""

from __future__ import annotations

import re
from typing import Any

from linli.access.models import Consent, Credential
from linli.core.models import AuditLog
from tests.conftest import World


def test_issue_a_card_and_a_generated_pin_then_suspend_and_revoke(world: World, login: Any) -> None:
    client = login(world.manager_a)
    person = world.person_a
    page = client.get(f"/people/{person.pk}/")
    assert 'id="credentials"' in page.content.decode()
    answer = client.post(f"/people/{person.pk}/credentials/", {"kind": "card", "value": "0a1b2c3d"})
    assert answer.status_code == 302
    card = Credential.objects.get(person=person, kind="card")
    assert card.masked == "****2C3D"
    assert Credential.objects.filter(person=person, kind="qr", status="active").exists()
    pin_page = client.post(f"/people/{person.pk}/credentials/", {"kind": "pin", "value": ""})
    assert pin_page.status_code == 200 and pin_page["Cache-Control"] == "no-store"
    pin = re.search(r'id="issued-pin".*?fw-semibold">(\d{6})<', pin_page.content.decode(), re.S)
    assert pin is not None
    assert pin.group(1) not in client.get(f"/people/{person.pk}/").content.decode()
    client.post(f"/credentials/{card.pk}/status/", {"action": "suspend", "reason": "丢失"})
    card.refresh_from_db()
    assert (card.status, card.status_reason) == ("suspended", "丢失")
    client.post(f"/credentials/{card.pk}/status/", {"action": "revoke"})
    card.refresh_from_db()
    assert card.status == "revoked"
    assert AuditLog.objects.filter(action="access.credential.revoke", object_id=str(card.pk))
    bad = client.post(
        f"/people/{person.pk}/credentials/", {"kind": "card", "value": "xyz"}, follow=True
    )
    assert "卡号须为4–32位十六进制字符" in bad.content.decode()


def test_consent_is_recorded_and_withdrawn(world: World, login: Any) -> None:
    client = login(world.manager_a)
    person = world.person_a
    client.post(
        f"/people/{person.pk}/consents/",
        {"modality": "face", "channel": "front_desk", "text_version": "2026-01"},
    )
    consent = Consent.objects.get(person=person)
    assert consent.revoked_at is None
    client.post(f"/consents/{consent.pk}/revoke/")
    consent.refresh_from_db()
    assert consent.revoked_at is not None


def test_guards_see_no_credentials_and_other_communities_cannot_touch_them(
    world: World, login: Any
) -> None:
    client = login(world.manager_a)
    client.post(f"/people/{world.person_a.pk}/credentials/", {"kind": "card", "value": "11223344"})
    card = Credential.objects.get(kind="card")
    guard = login(world.guard_a).get(f"/people/{world.person_a.pk}/").content.decode()
    assert 'id="credentials"' not in guard
    other = login(world.manager_b)
    assert other.post(f"/credentials/{card.pk}/status/", {"action": "revoke"}).status_code == 404
    card.refresh_from_db()
    assert card.status == "active"

"""The only writers of credentials and consent, and the pass a person shows.

A credential's secret never comes back: a card is kept as a keyed hash of its UID (and the
UID sealed), a PIN as a keyed hash only (shown once when generated). Face and voice
credentials need the person's recorded, unrevoked consent for that modality, and every
person keeps a non-biometric way in: the 一码通 pass is created with the first credential,
and the last active non-biometric credential cannot be suspended or revoked while a
biometric one is active. Moving out of the community revokes the person's credentials
there (:mod:`linli.access.handlers`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.access import keys, passes, queries, sync
from linli.access.choices import (
    BIOMETRIC_KINDS,
    ConsentChannel,
    CredentialKind,
    CredentialStatus,
    Modality,
)
from linli.access.decisions import card_hash, pin_hash
from linli.access.models import Consent, Credential
from linli.core import audit, crypto, errors
from linli.core.tenancy import Actor
from linli.people.models import Person

PASS_LIFETIME = 30  # seconds a shown pass is valid; the resident page renews it
NON_BIOMETRIC = (CredentialKind.QR, CredentialKind.CARD, CredentialKind.PIN)
_TRANSITIONS = {
    "suspend": (CredentialStatus.ACTIVE, CredentialStatus.SUSPENDED),
    "resume": (CredentialStatus.SUSPENDED, CredentialStatus.ACTIVE),
}


def check_person(actor: Actor, person: Person, community_id: int, perm: str) -> None:
    actor.require(perm, community_id)
    if not person.memberships.filter(community_id=community_id).exists():
        raise errors.NotFound()


def _mask_card(uid: str) -> str:
    clean = "".join(c for c in uid.upper() if c.isalnum())
    return f"****{clean[-4:]}" if len(clean) > 4 else "****"


def ensure_pass(person_id: int, community_id: int) -> Credential:
    """Return the person's active 一码通 credential in the community, creating it if needed."""
    current = Credential.objects.filter(
        community_id=community_id,
        person_id=person_id,
        kind=CredentialKind.QR,
        status=CredentialStatus.ACTIVE,
    ).first()
    if current is not None:
        return current
    return Credential.objects.create(
        community_id=community_id, person_id=person_id, kind=CredentialKind.QR
    )


def do_record_consent(
    actor: Actor,
    person: Person,
    community_id: int,
    *,
    modality: str,
    text_version: str,
    channel: str,
    guardian_name: str = "",
) -> Consent:
    """Record a person's consent to one biometric (for under-14s, with the guardian)."""
    check_person(actor, person, community_id, "credential.manage")
    details: dict[str, list[str]] = {}
    if modality not in Modality.values:
        details["modality"] = [_("未知的生物特征类型。")]
    if channel not in ConsentChannel.values:
        details["channel"] = [_("未知的同意渠道。")]
    if not text_version.strip():
        details["text_version"] = [_("请填写告知书版本。")]
    if _is_minor(person) and not guardian_name.strip():
        details["guardian_name"] = [_("未满14周岁，须由监护人同意。")]
    if details:
        raise errors.ValidationFailed(details=details)
    with transaction.atomic():
        if Consent.objects.filter(
            community_id=community_id, person=person, modality=modality, revoked_at__isnull=True
        ).exists():
            raise errors.Conflict(_("已有有效的同意记录。"), code="consent_exists")
        consent = Consent.objects.create(
            community_id=community_id,
            person=person,
            modality=modality,
            text_version=text_version.strip(),
            channel=channel,
            guardian_name=guardian_name.strip(),
            given_at=timezone.now(),
            recorded_by=actor.user,
        )
        audit.record(
            actor,
            "access.consent.give",
            consent,
            community_id=community_id,
            changes={"modality": [None, modality], "text_version": [None, text_version]},
        )
    return consent


def _is_minor(person: Person) -> bool:
    if person.birth_date is None:
        return False
    today = timezone.localdate()
    age = (
        today.year
        - person.birth_date.year
        - ((today.month, today.day) < (person.birth_date.month, person.birth_date.day))
    )
    return age < 14


def do_revoke_consent(actor: Actor, consent: Consent) -> Consent:
    """Withdraw a consent; the person's credentials of that modality are revoked with it."""
    check_person(actor, consent.person, consent.community_id, "credential.manage")
    if consent.revoked_at is not None:
        return consent
    now = timezone.now()
    with transaction.atomic():
        consent.revoked_at = now
        consent.save(update_fields=["revoked_at"])
        revoked = Credential.objects.filter(consent=consent).exclude(
            status=CredentialStatus.REVOKED
        )
        count = revoked.update(status=CredentialStatus.REVOKED, status_reason="consent_revoked")
        _templates().forget(
            consent.community_id, [consent.person_id], consent.modality, "consent_revoked"
        )
        audit.record(
            actor,
            "access.consent.revoke",
            consent,
            community_id=consent.community_id,
            changes={"revoked_at": [None, now.isoformat()], "credentials_revoked": [0, count]},
        )
    return consent


def do_issue_credential(
    actor: Actor,
    person: Person,
    community_id: int,
    *,
    kind: str,
    value: str = "",
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
) -> tuple[Credential, str]:
    """Issue a credential; return it and the secret to show once (a generated PIN), or "".

    ``value`` is a card's UID, or a chosen PIN (4–8 digits; empty: one is generated).
    """
    check_person(actor, person, community_id, "credential.manage")
    if kind not in CredentialKind.values:
        raise errors.ValidationFailed(details={"kind": [_("未知的凭证类型。")]})
    if valid_from and valid_until and valid_until <= valid_from:
        raise errors.ValidationFailed(details={"valid_until": [_("失效时间须晚于生效时间。")]})
    shown = ""
    credential = Credential(
        community_id=community_id,
        person=person,
        kind=kind,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    if kind == CredentialKind.CARD:
        clean = "".join(c for c in value.upper() if c.isalnum())
        if not 4 <= len(clean) <= 32 or any(c not in "0123456789ABCDEF" for c in clean):
            raise errors.ValidationFailed(details={"value": [_("卡号须为4–32位十六进制字符。")]})
        credential.lookup_hash = card_hash(clean)
        credential.secret_sealed = crypto.seal(clean, "access.credential")
        credential.masked = _mask_card(clean)
    elif kind == CredentialKind.PIN:
        pin = value or f"{secrets.randbelow(10**6):06d}"
        if not pin.isdigit() or not 4 <= len(pin) <= 8:
            raise errors.ValidationFailed(details={"value": [_("密码须为4–8位数字。")]})
        credential.lookup_hash = pin_hash(community_id, pin)
        # Terminals match PINs offline by this keyed hash; the PIN itself is not kept.
        credential.secret_sealed = crypto.seal(
            sync.match_of(community_id, CredentialKind.PIN, pin), "access.credential"
        )
        credential.masked = "*" * len(pin)
        shown = pin if not value else ""
    elif kind in BIOMETRIC_KINDS:
        consent = queries.active_consent(person.pk, community_id, kind)
        if consent is None:
            raise errors.Conflict(_("本人尚未同意采集该生物特征。"), code="no_consent")
        credential.consent = consent
    with transaction.atomic():
        if kind == CredentialKind.QR:
            Credential.objects.filter(
                community_id=community_id,
                person=person,
                kind=CredentialKind.QR,
                status=CredentialStatus.ACTIVE,
            ).update(status=CredentialStatus.REVOKED, status_reason="replaced")
        try:
            with transaction.atomic():
                credential.save(force_insert=True)
        except IntegrityError as exc:
            code = "pin_unavailable" if kind == CredentialKind.PIN else "card_in_use"
            message = (
                _("该密码不可用，请换一个。")
                if kind == CredentialKind.PIN
                else _("该卡已登记给他人。")
            )
            raise errors.Conflict(message, code=code) from exc
        if kind != CredentialKind.QR:
            ensure_pass(person.pk, community_id)
        sync.touch(community_id, people=[person.pk])
        audit.record(
            actor,
            "access.credential.issue",
            credential,
            community_id=community_id,
            changes={"kind": [None, kind], "person": [None, person.pk]},
        )
    return credential, shown


def do_set_credential_status(
    actor: Actor, credential: Credential, action: str, reason: str = ""
) -> Credential:
    """Suspend, resume or revoke a credential (``action``: suspend / resume / revoke)."""
    actor.require("credential.manage", credential.community_id)
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(pk=credential.pk)
        before = credential.status
        if action == "revoke":
            if before == CredentialStatus.REVOKED:
                return credential
            after = CredentialStatus.REVOKED
        elif action in _TRANSITIONS:
            source, after = _TRANSITIONS[action]
            if before != source:
                raise errors.Conflict(_("凭证当前状态不允许此操作。"), code="invalid_transition")
        else:
            raise errors.ValidationFailed(details={"action": [_("未知的操作。")]})
        if after != CredentialStatus.ACTIVE and credential.kind in NON_BIOMETRIC:
            _keep_a_non_biometric_way(credential)
        credential.status = after
        credential.status_reason = reason[:100]
        credential.save(update_fields=["status", "status_reason", "changed_at"])
        if credential.kind in BIOMETRIC_KINDS and credential.person_id is not None:
            if after == CredentialStatus.REVOKED:  # a revoked template is deleted
                _templates().forget(
                    credential.community_id, [credential.person_id], credential.kind, "revoked"
                )
            else:  # galleries hold active credentials only
                _templates().bump(credential.community_id, credential.kind)
        sync.touch(
            credential.community_id,
            people=[credential.person_id] if credential.person_id else [],
            visitors=[credential.visitor_id] if credential.visitor_id else [],
        )
        audit.record(
            actor,
            f"access.credential.{action}",
            credential,
            community_id=credential.community_id,
            changes={"status": [before, after]},
        )
    return credential


def _keep_a_non_biometric_way(credential: Credential) -> None:
    """Refuse to take away the last non-biometric credential while a biometric one works."""
    if credential.person_id is None:
        return
    mine = Credential.objects.filter(
        community_id=credential.community_id,
        person_id=credential.person_id,
        status=CredentialStatus.ACTIVE,
    ).exclude(pk=credential.pk)
    if (
        mine.filter(kind__in=BIOMETRIC_KINDS).exists()
        and not mine.filter(kind__in=NON_BIOMETRIC).exists()
    ):
        raise errors.Conflict(
            _("须保留至少一种非生物特征的通行方式（一码通、IC卡或密码）。"),
            code="last_non_biometric",
        )


def revoke_all(person_id: int, community_id: int, reason: str) -> int:
    """Revoke every credential a person holds in a community (moving out); return how many."""
    count = (
        Credential.objects.filter(community_id=community_id, person_id=person_id)
        .exclude(status=CredentialStatus.REVOKED)
        .update(status=CredentialStatus.REVOKED, status_reason=reason, changed_at=timezone.now())
    )
    _templates().forget(community_id, [person_id], None, reason)
    if count:
        sync.touch(community_id, people=[person_id])
    return count


def _templates() -> Any:
    """The biometrics app's template writers (it builds on this app, so it is imported
    when needed)."""
    from linli.biometrics import templates

    return templates


def show_pass(person_id: int, community_id: int, *, scope: passes.Scope = passes.ALL_SCOPES) -> str:
    """Sign a fresh 一码通 pass for the person (valid :data:`PASS_LIFETIME` seconds)."""
    credential = Credential.objects.filter(
        community_id=community_id,
        person_id=person_id,
        kind=CredentialKind.QR,
        status=CredentialStatus.ACTIVE,
    ).first()
    if credential is None:
        raise errors.Conflict(_("没有有效的一码通。"), code="no_pass")
    key_id, private = keys.cache.signer(community_id)
    return passes.issue(
        private,
        key_id=key_id,
        community_id=community_id,
        credential_id=credential.pk,
        issued_at=int(timezone.now().timestamp()),
        lifetime=PASS_LIFETIME,
        scope=scope,
    )

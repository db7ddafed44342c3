"""A person's access credentials and biometric consents, on the person's page.

Issuing a PIN without choosing one shows the generated PIN on the answer page, once
(never cached); a card number is shown masked afterwards. Every change goes through the
access actions, which audit it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.access import actions, queries
from linli.console.views.common import console_actor, flash_error, no_store, person_here
from linli.console.views.people import person_page
from linli.core import errors


def _back(person_id: int) -> HttpResponse:
    return redirect("console:person", person_id=person_id)


@login_required
@require_POST
def credential_issue(request: HttpRequest, person_id: int) -> HttpResponse:
    """Issue a card (its UID), a PIN (chosen, or generated and shown once) or a new pass."""
    actor, person, community_id = person_here(request, person_id)
    kind = request.POST.get("kind", "")
    try:
        credential, shown = actions.do_issue_credential(
            actor, person, community_id, kind=kind, value=request.POST.get("value", "").strip()
        )
    except (errors.ValidationFailed, errors.Conflict) as exc:
        flash_error(request, exc)
        return _back(person.pk)
    if shown:
        return no_store(person_page(request, person, issued_pin=shown))
    messages.success(request, _("已发放%(kind)s。") % {"kind": credential.get_kind_display()})
    return _back(person.pk)


@login_required
@require_POST
def credential_status(request: HttpRequest, credential_id: int) -> HttpResponse:
    """Suspend, resume or revoke a credential."""
    actor = console_actor(request)
    credential = queries.get_credential(actor, credential_id)
    if credential.person_id is None:  # a visitor's pass ends with the visit
        raise errors.NotFound()
    try:
        actions.do_set_credential_status(
            actor, credential, request.POST.get("action", ""), request.POST.get("reason", "")
        )
    except (errors.ValidationFailed, errors.Conflict) as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("凭证状态已更新。"))
    return _back(credential.person_id)


@login_required
@require_POST
def consent_record(request: HttpRequest, person_id: int) -> HttpResponse:
    """Record a person's consent to face or voiceprint recognition."""
    actor, person, community_id = person_here(request, person_id)
    try:
        actions.do_record_consent(
            actor,
            person,
            community_id,
            modality=request.POST.get("modality", ""),
            text_version=request.POST.get("text_version", ""),
            channel=request.POST.get("channel", ""),
            guardian_name=request.POST.get("guardian_name", ""),
        )
    except (errors.ValidationFailed, errors.Conflict) as exc:
        flash_error(request, exc)
    else:
        messages.success(request, _("已记录同意。"))
    return _back(person.pk)


@login_required
@require_POST
def consent_revoke(request: HttpRequest, consent_id: int) -> HttpResponse:
    """Withdraw a consent; the credentials of that biometric are revoked with it."""
    actor = console_actor(request)
    consent = queries.get_consent(actor, consent_id)
    actions.do_revoke_consent(actor, consent)
    messages.success(request, _("已撤回同意，相应的生物特征凭证已注销。"))
    return _back(consent.person_id)

"""The resident's own face page (我的人脸): read the notice, consent, enrol with the phone's
camera (or a photo), see the status, and withdraw, which deletes the face data at once.

A resident acts for themselves only: the actions run with the resident's own name in the
audit log and ``credential.manage`` on their own person in their own community, nothing
more. Face access stays optional: the 一码通, a card or a PIN always open the same doors.
"""

from __future__ import annotations

import dataclasses

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from linli.access import actions, queries
from linli.access.choices import ConsentChannel, Modality
from linli.biometrics import images, selectors, templates
from linli.console.views.biometrics import show_refusal
from linli.console.views.common import console_actor, no_store, require_somewhere
from linli.console.views.passes import _own
from linli.core import errors
from linli.core.tenancy import Actor
from linli.people.models import Person

NOTICE_VERSION = "2026-01"


def _for_self(actor: Actor, community_id: int) -> Actor:
    """The resident acting on their own credentials in one community (audited as them)."""
    return dataclasses.replace(
        actor, permissions={community_id: frozenset({"credential.manage", "credential.view"})}
    )


def _mine(request: HttpRequest) -> tuple[Actor, Person, int]:
    actor = console_actor(request)
    require_somewhere(actor, "pass.own")
    person, _communities, chosen = _own(actor, request)
    if person is None or chosen is None:
        raise errors.NotFound()
    return actor, person, chosen


@login_required
@require_GET
def my_face(request: HttpRequest) -> HttpResponse:
    """The resident's face status, the notice and the consent, and the capture."""
    actor = console_actor(request)
    require_somewhere(actor, "pass.own")
    person, communities, chosen = _own(actor, request)
    context: dict[str, object] = {"person": person, "pass_communities": communities}
    if person is not None and chosen is not None:
        held = selectors.held(person.pk, chosen)
        context |= {
            "chosen": chosen,
            "consent": held.consents.get(Modality.FACE),
            "template": held.templates.get(Modality.FACE),
            "notice_version": NOTICE_VERSION,
            "max_photos": templates.MAX_PHOTOS,
        }
    return no_store(render(request, "console/residents/face.html", context))


def _back(community_id: int) -> HttpResponse:
    return redirect(f"/me/face/?community={community_id}")


@login_required
@require_POST
def my_face_consent(request: HttpRequest) -> HttpResponse:
    """Give consent to face access (after reading the notice)."""
    actor, person, community_id = _mine(request)
    if request.POST.get("agree") != "yes":
        messages.error(request, _("请先阅读并勾选同意。"))
        return _back(community_id)
    try:
        actions.do_record_consent(
            _for_self(actor, community_id),
            person,
            community_id,
            modality=Modality.FACE,
            text_version=NOTICE_VERSION,
            channel=ConsentChannel.APP,
        )
    except (errors.ValidationFailed, errors.Conflict) as exc:
        show_refusal(request, exc)
    return _back(community_id)


@login_required
@require_POST
def my_face_enrol(request: HttpRequest) -> HttpResponse:
    """Enrol the resident's face from the captured or chosen photo."""
    actor, person, community_id = _mine(request)
    files = request.FILES.getlist("photos")[: templates.MAX_PHOTOS]
    try:
        if any((f.size or 0) > images.MAX_BYTES for f in files):
            raise errors.ValidationFailed(_("图片过大。"), code="too_large")
        templates.do_enrol_face(
            _for_self(actor, community_id), person, community_id, [f.read() for f in files]
        )
    except (errors.ValidationFailed, errors.Conflict) as exc:
        show_refusal(request, exc)
    else:
        messages.success(request, _("人脸已采集，可以刷脸通行了。"))
    return _back(community_id)


@login_required
@require_POST
def my_face_withdraw(request: HttpRequest) -> HttpResponse:
    """Withdraw the consent: the face data is deleted at once."""
    actor, person, community_id = _mine(request)
    consent = queries.active_consent(person.pk, community_id, Modality.FACE)
    if consent is not None:
        actions.do_revoke_consent(_for_self(actor, community_id), consent)
    messages.success(request, _("已撤回同意，您的人脸数据已删除。"))
    return _back(community_id)

"""A person's face and voiceprint on the person's page, and the engines' evaluation report.

Enrolment takes uploaded photos (on a phone, the browser offers the camera) or voice
recordings; a refused photo is answered with what was wrong and the measured value, and
nothing is stored. Templates are never shown: the page says only whether one exists,
when it was made and how good its samples were.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.access.choices import Modality
from linli.biometrics import images, selectors, templates
from linli.biometrics.engines import BiometricRefused
from linli.console.views.common import console_actor, flash_error, person_here
from linli.core import errors
from linli.core.tenancy import Actor

MAX_FILES = 10


def _back(person_id: int) -> HttpResponse:
    return redirect(f"/people/{person_id}/#biometrics")


def show_refusal(request: HttpRequest, exc: errors.LinliError) -> None:
    """Show why a photo or recording was refused, with what was measured."""
    if not isinstance(exc, BiometricRefused):
        flash_error(request, exc)
        return
    labels = {
        "photo": _("第几张（从0起）"),
        "utterance": _("第几段（从0起）"),
        "width": _("人脸宽（像素）"),
        "sharpness": _("清晰度"),
        "brightness": _("亮度"),
        "yaw": _("偏转"),
        "min_width": _("最小人脸宽"),
        "min_sharpness": _("最低清晰度"),
        "min_brightness": _("最低亮度"),
        "max_brightness": _("最高亮度"),
        "max_yaw": _("最大偏转"),
    }
    shown = [f"{labels[k]} {v}" for k, v in exc.details.items() if k in labels]
    text = str(exc.message) + (f"（{'，'.join(shown)}）" if shown else "")
    messages.error(request, text)


def _uploads(request: HttpRequest, field: str, limit: int) -> list[bytes]:
    files = request.FILES.getlist(field)[:MAX_FILES]
    if any((f.size or 0) > limit for f in files):
        raise errors.ValidationFailed(_("图片过大。"), code="too_large")
    return [f.read() for f in files]


def _enrol(
    request: HttpRequest, person_id: int, field: str, limit: int, enrol: Any, done: str
) -> HttpResponse:
    actor, person, community_id = person_here(request, person_id)
    try:
        enrol(actor, person, community_id, _uploads(request, field, limit))
    except errors.LinliError as exc:
        show_refusal(request, exc)
    else:
        messages.success(request, done)
    return _back(person.pk)


@login_required
@require_POST
def face_enrol(request: HttpRequest, person_id: int) -> HttpResponse:
    """Enrol a person's face from uploaded photos."""
    return _enrol(
        request, person_id, "photos", images.MAX_BYTES, templates.do_enrol_face, _("人脸已采集。")
    )


@login_required
@require_POST
def voice_enrol(request: HttpRequest, person_id: int) -> HttpResponse:
    """Enrol a person's voiceprint from uploaded recordings (at least three)."""
    return _enrol(
        request,
        person_id,
        "utterances",
        10 * 1024 * 1024,
        templates.do_enrol_voice,
        _("声纹已采集。"),
    )


@login_required
@require_POST
def template_delete(request: HttpRequest, person_id: int, modality: str) -> HttpResponse:
    """Delete a person's face or voice template (its credential is revoked with it)."""
    actor, person, community_id = person_here(request, person_id)
    if modality not in Modality.values:
        raise errors.NotFound()
    actor.require("credential.manage", community_id)
    templates.forget(community_id, [person.pk], modality, "deleted", actor=actor)
    messages.success(request, _("已删除。"))
    return _back(person.pk)


def _may_see_reports(actor: Actor) -> None:
    scope = actor.scope("access.view")
    if not (scope.everywhere or scope.community_ids):
        raise errors.PermissionDenied()


@login_required
def evaluation(request: HttpRequest) -> HttpResponse:
    """The latest evaluation of the face engine (``linli biometrics evaluate``)."""
    actor = console_actor(request)
    _may_see_reports(actor)
    report = selectors.latest_report(Modality.FACE)
    verification = []
    if report is not None:
        for label, summary in report.report.get("verification", {}).items():
            at_far = summary.get("at_far", {})
            verification.append(
                {
                    "label": label,
                    "genuine": summary.get("genuine_pairs"),
                    "impostor": summary.get("impostor_pairs"),
                    "eer": summary.get("eer"),
                    "frr_1e3": at_far.get("0.001", {}).get("frr"),
                    "frr_1e4": at_far.get("0.0001", {}).get("frr"),
                }
            )
    return render(
        request,
        "console/biometrics/evaluation.html",
        {
            "report": report,
            "verification": verification,
            "stored_faces": selectors.stored_faces(),
        },
    )


@login_required
def evaluation_plot(request: HttpRequest, report_id: int) -> HttpResponse:
    """The DET plot of an evaluation report (PNG)."""
    actor = console_actor(request)
    _may_see_reports(actor)
    report = selectors.report(report_id)
    if report is None or not report.plot:
        raise errors.NotFound()
    return HttpResponse(bytes(report.plot), content_type="image/png")

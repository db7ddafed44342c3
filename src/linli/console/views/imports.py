"""Console pages of background imports: residents (住户) upload, progress, report, export."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext as _

from linli.console.views.common import console_actor, no_store
from linli.core import errors, jobs
from linli.core.models import ImportJob
from linli.core.tabular import Limits, template_xlsx
from linli.people import imports as people_imports
from linli.places import selectors as place_selectors

RESIDENTS = people_imports.RESIDENTS_JOB.kind


def _xlsx_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@login_required
def resident_import(request: HttpRequest, community_id: int) -> HttpResponse:
    """Residents' import and export page; a POST stores the upload as a background job."""
    actor = console_actor(request)
    community = place_selectors.get_community(actor, community_id, perm="person.view")
    can_import = actor.can("person.manage", community.pk)
    context: dict[str, object] = {
        "community": community,
        "mode": "all_or_nothing",
        "can_import": can_import,
        "can_reveal": actor.can("person.reveal", community.pk),
        "jobs": jobs.list_import_jobs(actor, RESIDENTS, community.pk) if can_import else [],
        "max_mb": Limits().max_bytes // (1024 * 1024),
    }
    status = 200
    if request.method == "POST":
        actor.require("person.manage", community.pk)
        upload = request.FILES.get("file")
        mode = request.POST.get("mode", "all_or_nothing")
        context["mode"] = mode
        limit = Limits().max_bytes
        if upload is None:
            context["file_error"] = _("请选择要上传的 .xlsx 文件。")
            status = 422
        elif upload.size is not None and upload.size > limit:
            # Refused before reading it: the engine would say the same after reading.
            context["file_error"] = _("文件太大，上限是 %(limit)s MB。") % {
                "limit": context["max_mb"]
            }
            status = 413
        else:
            try:
                job = jobs.do_create_import_job(
                    actor,
                    RESIDENTS,
                    community,
                    upload.read(limit + 1),
                    filename=upload.name or "",
                    mode=mode,
                )
            except errors.LinliError as exc:
                context["file_error"] = exc.message
                context["file_error_details"] = exc.details
                status = exc.status
            else:
                return redirect("console:import_job", job.pk)
    return render(request, "console/people/import.html", context, status=status)


@login_required
def resident_template(request: HttpRequest, community_id: int) -> HttpResponse:
    """Download the empty residents template in the page's language."""
    actor = console_actor(request)
    community = place_selectors.get_community(actor, community_id, perm="person.manage")
    data = template_xlsx(people_imports.RESIDENT_SHEET, translation.get_language() or "zh-hans")
    return _xlsx_response(data, f"{community.code}-{_('住户导入模板')}.xlsx")


@login_required
def resident_export(request: HttpRequest, community_id: int) -> HttpResponse:
    """Download current residents: masked (GET), or in full by POST (``person.reveal``)."""
    actor = console_actor(request)
    community = place_selectors.get_community(actor, community_id, perm="person.view")
    full = request.method == "POST" and request.POST.get("full") == "1"
    data = people_imports.export_residents(
        actor, community, full=full, language=translation.get_language() or "zh-hans"
    )
    name = _("住户（完整）") if full else _("住户")
    response = _xlsx_response(data, f"{community.code}-{name}.xlsx")
    return no_store(response) if full else response


def _job_context(job: ImportJob) -> dict[str, object]:
    done, total = jobs.read_progress(job)
    return {
        "job": job,
        "done": done,
        "total": total,
        "percent": int(100 * done / total) if total else 0,
    }


@login_required
def import_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """Show one of the user's import jobs: its progress, then its counts and report."""
    actor = console_actor(request)
    job = jobs.get_import_job(actor, job_id)
    community = place_selectors.get_community(actor, job.community_id)
    context = _job_context(job) | {"community": community}
    if job.finished:
        context["problems"] = jobs.shown_report(job)
    status = 422 if job.status == ImportJob.Status.REFUSED else 200
    return render(request, "console/people/import_job.html", context, status=status)


@login_required
def import_job_status(request: HttpRequest, job_id: int) -> JsonResponse:
    """Return a job's status and progress as JSON (polled by the job page)."""
    job = jobs.get_import_job(console_actor(request), job_id)
    response = JsonResponse(jobs.status_of(job))
    response["Cache-Control"] = "no-store"
    return response


routes = [
    path(
        "communities/<int:community_id>/residents/import/",
        resident_import,
        name="resident_import",
    ),
    path(
        "communities/<int:community_id>/residents/template.xlsx",
        resident_template,
        name="resident_template",
    ),
    path(
        "communities/<int:community_id>/residents/export.xlsx",
        resident_export,
        name="resident_export",
    ),
    path("import-jobs/<int:job_id>/", import_job, name="import_job"),
    path("import-jobs/<int:job_id>/status/", import_job_status, name="import_job_status"),
]
"""The console routes of this module (included by :mod:`linli.console.urls`)."""

"""Background imports (导入任务): an upload stored sealed, imported by the worker, with progress.

A domain registers an :class:`Importer` for each kind of sheet it imports; the console
stores an upload with :func:`do_create_import_job`, which checks the file's size, format and
columns at once (so a wrong file is refused while the user waits) and enqueues the
``core.import_job`` task in the same transaction. The worker runs the domain's importer
as the user who uploaded (their grants are read again when the job starts), records the
counts and the row-by-row report on the job, and deletes the stored file.

Progress: an all-or-nothing import writes in one transaction, which on SQLite holds the
database's write lock for its whole length, so rows done are not written to the job row
while it runs. The worker keeps them in a small file under ``VAR_DIR/jobs`` instead (no
personal data: two counts), which the status page reads; the web and worker roles share
that directory in every deployment this project supports (one host). The job row gets
the final figures.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit, context, crypto, errors
from linli.core.models import ImportJob
from linli.core.tabular import (
    FileRejected,
    ImportAborted,
    ImportResult,
    Limits,
    Mode,
    Report,
    Sheet,
    SheetFile,
)
from linli.core.tenancy import Actor
from linli.core.worker import enqueue, task

log = logging.getLogger(__name__)

UPLOAD_PURPOSE = "core.import_upload"
TASK_NAME = "core.import_job"
MODES: tuple[Mode, ...] = ("all_or_nothing", "valid_only")

Progress = Callable[[int, int], None]
RunImport = Callable[[Actor, Any, bytes, Mode, Progress], ImportResult]
MaskValue = Callable[[str, str], str]


@dataclass(frozen=True)
class Importer:
    """A kind of background import: its sheet, the permission it needs, and how it runs.

    ``run(actor, community, data, mode, progress)`` imports the file (handling its own
    transaction) and returns the result; ``mask(column, value)`` returns a reported
    cell as it may be stored on the job (e.g. an ID number masked).
    """

    kind: str
    sheet: Sheet
    perm: str
    run: RunImport
    mask: MaskValue = lambda column, value: value


_importers: dict[str, Importer] = {}


def register_importer(importer: Importer) -> Importer:
    """Register a kind of background import (once per kind); return it."""
    known = _importers.get(importer.kind)
    if known is not None and known != importer:
        raise ValueError(f"importer {importer.kind!r} registered twice")
    _importers[importer.kind] = importer
    return importer


def importer_for(kind: str) -> Importer:
    """Return the importer of ``kind``, loading ``linli.<app>.imports`` on first use."""
    if kind not in _importers:
        app = kind.partition(".")[0]
        if app.isidentifier():
            # A worker process imports the domain's module on demand: tasks name kinds.
            with contextlib.suppress(ModuleNotFoundError):
                importlib.import_module(f"linli.{app}.imports")
    try:
        return _importers[kind]
    except KeyError:
        raise LookupError(f"no importer registered for {kind!r}") from None


# -- writes ---------------------------------------------------------------------------


def check_create_import_job(
    actor: Actor, importer: Importer, community_id: int, data: bytes, mode: str
) -> None:
    """Authorise an upload and refuse a file that cannot be imported at all.

    The size, the format and the header row are checked now; the rows are the job's.
    """
    actor.require(importer.perm, community_id)
    if mode not in MODES:
        raise errors.ValidationFailed(details={"mode": [_("请选择导入方式。")]})
    with SheetFile(data, importer.sheet, Limits()):
        pass


def do_create_import_job(
    actor: Actor,
    kind: str,
    community: Any,
    data: bytes,
    *,
    filename: str = "",
    mode: str = "all_or_nothing",
) -> ImportJob:
    """Store an upload sealed and queue its import; return the job (pending)."""
    importer = importer_for(kind)
    check_create_import_job(actor, importer, community.pk, data, mode)
    with transaction.atomic():
        job = ImportJob.objects.create(
            kind=kind,
            community=community,
            created_by=actor.user,
            actor_label=actor.label[:150],
            mode=mode,
            filename=Path(filename).name[:200],
            size=len(data),
            upload_sealed=crypto.seal(data, UPLOAD_PURPOSE),
            request_id=context.current().request_id[:64],
        )
        audit.record(
            actor,
            "core.import_job.create",
            job,
            community_id=community.pk,
            changes={"kind": [None, kind], "file": [None, job.filename], "mode": [None, mode]},
        )
        enqueue(TASK_NAME, {"job_id": job.pk})
    return job


# -- progress -------------------------------------------------------------------------


def progress_path(job_id: int) -> Path:
    """Return the file holding a running job's progress."""
    return Path(settings.VAR_DIR) / "jobs" / f"{int(job_id)}.json"


def write_progress(job_id: int, done: int, total: int) -> None:
    """Record a running job's rows done out of total (atomically replacing the file)."""
    path = progress_path(job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"done": done, "total": total}))
    os.replace(temporary, path)


def read_progress(job: ImportJob) -> tuple[int, int]:
    """Return ``(done, total)`` of a job: live while it runs, final once it ended."""
    if job.status != ImportJob.Status.RUNNING:
        return job.done, job.total
    try:
        data = json.loads(progress_path(job.pk).read_text())
        return int(data["done"]), int(data["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0, 0


def _clear_progress(job_id: int) -> None:
    progress_path(job_id).unlink(missing_ok=True)


# -- the task -------------------------------------------------------------------------


def _claim(job_id: int) -> ImportJob | None:
    """Mark a pending job running; give up on one an earlier attempt left running."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.finished:
            return None
        if job.status == ImportJob.Status.RUNNING:
            # The task is delivered at least once; a job runs at most once. A worker that
            # died mid-import leaves nothing half-done that a re-run could fix silently.
            _finish(
                job,
                status=ImportJob.Status.FAILED,
                message=_("导入被中断（后台服务重启）。请重新上传文件。"),
            )
            return None
        job.status = ImportJob.Status.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])
    return job


def _finish(job: ImportJob, **values: Any) -> None:
    """Record how a job ended and delete its stored upload."""
    values.update(upload_sealed="", finished_at=timezone.now())
    ImportJob.objects.filter(pk=job.pk).update(**values)
    for name, value in values.items():
        setattr(job, name, value)
    _clear_progress(job.pk)


def report_rows(report: Report, mask: MaskValue) -> list[dict[str, Any]]:
    """Return a report's problems as stored on a job: reasons as Chinese source text."""
    rows = []
    for e in report.sorted():
        reason = e.reason if isinstance(e.reason, str) else _source_text(e.reason)
        rows.append(
            {
                "row": e.row,
                "column": e.column,
                "value": mask(e.column, e.value),
                "reason": reason,
                "params": {k: str(v) for k, v in e.params.items()},
                "code": e.code,
            }
        )
    return rows


def _source_text(text: Any) -> str:
    from django.utils import translation

    with translation.override("zh-hans"):
        return str(text)


def run_job(job_id: int) -> None:
    """Run one import job to its end; never raises for a problem of the file or its rows."""
    job = _claim(job_id)
    if job is None:
        return
    try:
        importer = importer_for(job.kind)
        user = job.created_by
        if user is None or not job.upload_sealed:
            raise errors.PermissionDenied()
        actor = Actor.for_user(user)
        data = crypto.keyring().open_bytes(job.upload_sealed, UPLOAD_PURPOSE)
        token = context.bind(context.RequestContext(request_id=job.request_id or "-"))
        try:
            result = importer.run(
                actor,
                job.community,
                data,
                job.mode,  # type: ignore[arg-type]
                lambda done, total: write_progress(job.pk, done, total),
            )
        finally:
            context.reset(token)
    except ImportAborted as exc:
        # An importer that let an all-or-nothing refusal escape: nothing was kept.
        _record(job, importer.mask, exc.result)
    except FileRejected as exc:
        _finish(
            job,
            status=ImportJob.Status.REFUSED,
            message=str(exc.message),
            details=_plain(exc.details),
        )
    except errors.LinliError as exc:
        _finish(job, status=ImportJob.Status.REFUSED, message=str(exc.message))
    except Exception:
        log.exception("import job %s failed", job_id)
        _finish(
            job, status=ImportJob.Status.FAILED, message=_("导入失败，请稍后重试或联系管理员。")
        )
    else:
        _record(job, importer.mask, result)


def _record(job: ImportJob, mask: MaskValue, result: ImportResult) -> None:
    """Finish a job that read its file: the counts and the report."""
    _finish(
        job,
        status=ImportJob.Status.DONE,
        total=result.valid,
        done=result.valid,
        read=result.read,
        applied=result.applied,
        unchanged=result.unchanged,
        invalid=result.invalid,
        aborted=result.aborted,
        report=report_rows(result.report, mask),
        omitted=result.report.omitted,
    )


def _plain(details: Any) -> dict[str, Any]:
    """Return error details safe to store as JSON."""
    return json.loads(json.dumps(details, default=str)) if isinstance(details, dict) else {}


@task(TASK_NAME)
def import_job(job_id: int) -> None:
    """Run a queued import job (the task the upload enqueued)."""
    run_job(job_id)


KEEP_FINISHED = dt.timedelta(days=30)
GIVE_UP_PENDING = dt.timedelta(days=1)


@task("core.purge_import_jobs", every=dt.timedelta(hours=6))
def purge_import_jobs() -> None:
    """Delete jobs finished a month ago; fail (and forget the file of) jobs never run."""
    now = timezone.now()
    ImportJob.objects.filter(finished_at__lt=now - KEEP_FINISHED).delete()
    stale = ImportJob.objects.filter(
        status=ImportJob.Status.PENDING, created_at__lt=now - GIVE_UP_PENDING
    )
    for job in stale:
        _finish(
            job,
            status=ImportJob.Status.FAILED,
            message=_("导入没有开始（后台服务未运行）。请重新上传文件。"),
        )


# -- reads ----------------------------------------------------------------------------


def get_import_job(actor: Actor, job_id: int) -> ImportJob:
    """Return one of the actor's own import jobs, or raise :class:`NotFound`."""
    if actor.user is None:
        raise errors.NotFound()
    job = (
        ImportJob.objects.restrict(actor, "community.view")
        .filter(created_by=actor.user)
        .defer("upload_sealed")
        .one_or_404(job_id)
    )
    if not actor.can(importer_for(job.kind).perm, job.community_id):
        raise errors.NotFound()
    return job


def list_import_jobs(actor: Actor, kind: str, community_id: int, limit: int = 5) -> list[ImportJob]:
    """Return the actor's latest import jobs of a kind in a community."""
    if actor.user is None:
        return []
    return list(
        ImportJob.objects.restrict(actor, "community.view")
        .filter(kind=kind, community_id=community_id, created_by=actor.user)
        .defer("upload_sealed", "report")
        .order_by("-created_at", "-id")[:limit]
    )


def status_of(job: ImportJob) -> dict[str, Any]:
    """Return what the status endpoint says about a job."""
    done, total = read_progress(job)
    return {
        "id": job.pk,
        "status": job.status,
        "finished": job.finished,
        "ok": job.ok,
        "done": done,
        "total": total,
        "read": job.read,
        "applied": job.applied,
        "unchanged": job.unchanged,
        "invalid": job.invalid,
        "message": job.message,
    }


def shown_report(job: ImportJob, language: str | None = None) -> list[dict[str, Any]]:
    """Return a finished job's problems in the active language, column headings included."""
    from django.utils import translation
    from django.utils.translation import gettext

    language = language or translation.get_language() or "zh-hans"
    sheet = importer_for(job.kind).sheet
    shown = []
    with translation.override(language):
        for e in job.report:
            reason = gettext(e["reason"])
            if e.get("params"):
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    reason %= e["params"]
            column = e["column"]
            shown.append(
                {
                    "row": e["row"],
                    "column": sheet.header_of(column, language) if column else "",
                    "column_key": column,
                    "value": e["value"],
                    "reason": reason,
                    "code": e["code"],
                }
            )
    return shown

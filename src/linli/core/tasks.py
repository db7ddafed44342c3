"""Background housekeeping of the core domain."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from linli.core.models import LoginFailure, Task
from linli.core.worker import task


@task("core.purge_login_failures", every=dt.timedelta(minutes=10))
def purge_login_failures() -> None:
    """Forget failed sign-ins older than the lock-out window."""
    horizon = timezone.now() - dt.timedelta(seconds=settings.LINLI_LOGIN_LOCKOUT_SECONDS)
    LoginFailure.objects.filter(created_at__lt=horizon).delete()


@task("core.clear_sessions", every=dt.timedelta(hours=1))
def clear_sessions() -> None:
    """Delete expired console sessions."""
    Session.objects.filter(expire_date__lt=timezone.now()).delete()


@task("core.purge_finished_tasks", every=dt.timedelta(hours=6))
def purge_finished_tasks() -> None:
    """Delete tasks that finished more than a week ago."""
    horizon = timezone.now() - dt.timedelta(days=7)
    Task.objects.filter(status=Task.Status.DONE, finished_at__lt=horizon).delete()

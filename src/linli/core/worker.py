"""The background worker: a task queue in the database, claimed without double work.

:func:`enqueue` writes a :class:`~linli.core.models.Task` row in the caller's transaction,
so a task exists exactly when the change that needs it committed. Workers claim due tasks
with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (any number of workers) and under
SQLite's database-wide write lock in embedded mode; a claim is a lease, so a task whose
worker died is picked up again after ``LEASE``. Delivery is at least once: task functions
are idempotent and receive ids, not objects.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from linli.core.models import Task

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=5)
TaskFn = Callable[..., None]


@dataclass(frozen=True)
class Periodic:
    """A task enqueued every ``every`` by the worker's scheduler."""

    name: str
    every: dt.timedelta


_registry: dict[str, TaskFn] = {}
_periodic: list[Periodic] = []


def task(name: str, *, every: dt.timedelta | None = None) -> Callable[[TaskFn], TaskFn]:
    """Register a task function under ``name`` (optionally run every ``every``)."""

    def wrap(fn: TaskFn) -> TaskFn:
        _registry[name] = fn
        if every is not None and all(p.name != name for p in _periodic):
            _periodic.append(Periodic(name, every))
        return fn

    return wrap


def enqueue(name: str, payload: dict[str, Any] | None = None, *, delay: float = 0) -> Task:
    """Write a task row in the current transaction; it runs after commit."""
    if name not in _registry:
        raise KeyError(f"unknown task {name!r}")
    return Task.objects.create(
        name=name,
        payload=payload or {},
        run_after=timezone.now() + dt.timedelta(seconds=delay),
    )


def _claim(worker_id: str, limit: int) -> list[Task]:
    now = timezone.now()
    due = Q(status=Task.Status.PENDING, run_after__lte=now) | Q(
        status=Task.Status.RUNNING, locked_until__lt=now
    )
    with transaction.atomic():
        qs = Task.objects.filter(due).order_by("run_after", "id")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        claimed = list(qs[:limit])
        ids = [t.pk for t in claimed]
        Task.objects.filter(pk__in=ids).update(status=Task.Status.RUNNING, locked_until=now + LEASE)
    log.debug("worker %s claimed %d tasks", worker_id, len(claimed))
    return claimed


def _backoff(attempts: int) -> dt.timedelta:
    base = min(3600.0, 2.0**attempts)
    return dt.timedelta(seconds=base * (0.5 + random.random() / 2))  # noqa: S311


def run_one(t: Task) -> bool:
    """Run one claimed task and record the outcome; return whether it succeeded."""
    fn = _registry.get(t.name)
    attempts = t.attempts + 1
    try:
        if fn is None:
            raise LookupError(f"no task function registered as {t.name!r}")
        fn(**t.payload)
    except Exception as exc:
        log.exception("task %s#%s failed (attempt %d)", t.name, t.pk, attempts)
        failed = attempts >= t.max_attempts
        Task.objects.filter(pk=t.pk).update(
            attempts=attempts,
            status=Task.Status.FAILED if failed else Task.Status.PENDING,
            run_after=timezone.now() + _backoff(attempts),
            locked_until=None,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now() if failed else None,
        )
        return False
    Task.objects.filter(pk=t.pk).update(
        attempts=attempts,
        status=Task.Status.DONE,
        locked_until=None,
        finished_at=timezone.now(),
        last_error="",
    )
    return True


def run_due(worker_id: str = "worker", limit: int = 20) -> int:
    """Claim and run due tasks once; return how many ran."""
    tasks = _claim(worker_id, limit)
    for t in tasks:
        run_one(t)
    return len(tasks)


def schedule_periodic(last_run: dict[str, float]) -> None:
    """Enqueue periodic tasks whose interval has passed (per worker process)."""
    now = time.monotonic()
    for p in _periodic:
        if now - last_run.get(p.name, -1e18) >= p.every.total_seconds():
            last_run[p.name] = now
            with transaction.atomic():
                pending = Task.objects.filter(
                    name=p.name, status__in=[Task.Status.PENDING, Task.Status.RUNNING]
                ).exists()
                if not pending:
                    enqueue(p.name)


def run_forever(stop: threading.Event, worker_id: str = "worker", idle: float = 1.0) -> None:
    """Run due tasks and periodic schedules until ``stop`` is set.

    Apps register their tasks when Django starts (``AppConfig.ready``), so every way of
    starting a worker knows the same tasks.
    """
    last_run: dict[str, float] = {}
    log.info("worker %s started", worker_id)
    while not stop.is_set():
        close_old_connections()
        try:
            schedule_periodic(last_run)
            ran = run_due(worker_id)
        except Exception:
            log.exception("worker %s loop failed; retrying", worker_id)
            ran = 0
        if not ran:
            stop.wait(idle)
    log.info("worker %s stopped", worker_id)


def registered() -> dict[str, TaskFn]:
    """Return the registered task functions by name."""
    return dict(_registry)

"""The background worker: tasks run after commit, retry with backoff, and never run twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from linli.core import worker
from linli.core.models import LoginFailure, Task

calls: list[int] = []


@worker.task("test.record")
def record(n: int) -> None:
    calls.append(n)


@worker.task("test.explode")
def explode() -> None:
    raise ValueError("boom")


@pytest.fixture(autouse=True)
def _clear() -> None:
    calls.clear()


@pytest.mark.django_db(transaction=True)
def test_task_runs_once_and_is_marked_done() -> None:
    with transaction.atomic():
        t = worker.enqueue("test.record", {"n": 7})
    assert worker.run_due() == 1
    assert calls == [7]
    t.refresh_from_db()
    assert t.status == Task.Status.DONE and t.attempts == 1
    assert worker.run_due() == 0 and calls == [7]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_leaves_no_task() -> None:
    def enqueue_then_fail() -> None:
        with transaction.atomic():
            worker.enqueue("test.record", {"n": 1})
            raise RuntimeError

    with pytest.raises(RuntimeError):
        enqueue_then_fail()
    assert worker.run_due() == 0 and calls == []


@pytest.mark.django_db(transaction=True)
def test_failure_is_retried_later_then_given_up() -> None:
    t = worker.enqueue("test.explode")
    Task.objects.filter(pk=t.pk).update(max_attempts=2)
    assert worker.run_due() == 1
    t.refresh_from_db()
    assert t.status == Task.Status.PENDING and t.attempts == 1
    assert "ValueError: boom" in t.last_error and t.run_after > timezone.now()
    assert worker.run_due() == 0  # not due yet: backoff
    Task.objects.filter(pk=t.pk).update(run_after=timezone.now())
    worker.run_due()
    t.refresh_from_db()
    assert t.status == Task.Status.FAILED and t.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_expired_lease_is_claimed_again() -> None:
    t = worker.enqueue("test.record", {"n": 3})
    Task.objects.filter(pk=t.pk).update(
        status=Task.Status.RUNNING, locked_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert worker.run_due() == 1 and calls == [3]


def test_unknown_task_name_is_refused(db: None) -> None:
    with pytest.raises(KeyError):
        worker.enqueue("no.such.task")


@pytest.mark.django_db(transaction=True)
def test_periodic_housekeeping_purges_old_login_failures() -> None:
    import linli.core.tasks  # noqa: F401

    old = LoginFailure.objects.create(username="x")
    LoginFailure.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    fresh = LoginFailure.objects.create(username="y")
    worker.schedule_periodic({})
    while worker.run_due():
        pass
    assert list(LoginFailure.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_every_app_registers_its_tasks_when_django_starts() -> None:
    """A worker started any way (CLI, embedded, another process manager) knows every task."""
    names = set(worker.registered())
    assert {
        "core.import_job",
        "core.purge_import_jobs",
        "people.remind_expiring_tenancies",
    } <= names

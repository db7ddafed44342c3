"""SQLite's write-ahead log checkpointed by a background thread (linli.core.sqlite).

The checkpointer works on a SQLite file of its own here (the write-ahead log needs a file),
whatever database the rest of the run uses.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from linli.core import sqlite

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _database(path: Path) -> sqlite3.Connection:
    """A writer as Linli's connections are (WAL, NORMAL), with its own checkpoints off."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)")
    return db


def _write(db: sqlite3.Connection, rows: int) -> None:
    for _ in range(rows):
        db.execute("INSERT INTO t (body) VALUES (?)", ("x" * 3000,))  # about a page each


def _log_frames(path: Path) -> int:
    """Frames in the log now, as SQLite counts them (``-1`` when it could not look)."""
    with sqlite3.connect(path, isolation_level=None) as db:
        return int(db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


@pytest.fixture
def turns(monkeypatch: Any) -> None:
    monkeypatch.setattr(sqlite, "_writer_files", {})


def test_a_checkpoint_copies_the_log_without_stopping_writers(tmp_path: Path, turns: None) -> None:
    path = tmp_path / "linli.sqlite3"
    db = _database(path)
    _write(db, 50)
    checkpointer = sqlite.Checkpointer(path, restart_frames=10_000)
    busy, frames, copied = checkpointer.checkpoint()
    assert (busy, copied) == (0, frames) and frames >= 50
    assert checkpointer.checkpoints == 1 and checkpointer.restarts == 0
    # A passive checkpoint copies and leaves the log to be reused; it did not take the
    # writers' turn, so a writer holding it does not hold the checkpoint up.
    lock = str(path) + "-writer.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, lock, "5"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        _write(db, 20)
        started = time.monotonic()
        checkpointer.checkpoint()
        assert time.monotonic() - started < 2
    finally:
        holder.kill()
        holder.wait()


def test_a_long_log_is_checkpointed_in_the_writers_turn_and_starts_over(
    tmp_path: Path, turns: None
) -> None:
    path = tmp_path / "linli.sqlite3"
    db = _database(path)
    _write(db, 120)
    checkpointer = sqlite.Checkpointer(path, restart_frames=100)
    lock = str(path) + "-writer.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, lock, "0.6"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        started = time.monotonic()
        busy, frames, copied = checkpointer.checkpoint()
        assert time.monotonic() - started > 0.3  # it waited for the writer's turn
    finally:
        holder.kill()
        holder.wait()
    assert (busy, copied) == (0, frames) and checkpointer.restarts == 1
    _write(db, 1)  # the next writer starts the log over
    assert _log_frames(path) <= 3


def test_the_turn_also_keeps_out_this_processs_own_writers(
    tmp_path: Path, monkeypatch: Any, turns: None
) -> None:
    """A writer thread of the same process holding its turn holds the checkpoint up too
    (the lock is per open file, so the checkpointer opens its own)."""
    path = tmp_path / "linli.sqlite3"
    monkeypatch.setattr(sqlite, "database_file", lambda: path)
    db = _database(path)
    _write(db, 120)
    held = threading.Event()

    def writer() -> None:
        with sqlite.writer_turn():
            held.set()
            time.sleep(0.6)

    thread = threading.Thread(target=writer)
    thread.start()
    assert held.wait(5)
    started = time.monotonic()
    sqlite.Checkpointer(path, restart_frames=100).checkpoint()
    assert time.monotonic() - started > 0.3
    thread.join()


def test_under_steady_writes_the_thread_keeps_the_log_short(
    tmp_path: Path, monkeypatch: Any, turns: None
) -> None:
    path = tmp_path / "linli.sqlite3"
    monkeypatch.setattr(sqlite, "database_file", lambda: path)  # the writers' turns
    db = _database(path)
    checkpointer = sqlite.Checkpointer(path, every=0.02, restart_frames=200)
    checkpointer.start()
    stop = threading.Event()
    written = 0

    def writer() -> None:
        nonlocal written
        own = _database(path)
        while not stop.is_set():
            with sqlite.writer_turn():
                _write(own, 1)
            written += 1
        own.close()

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(1.5)
    stop.set()
    thread.join()
    checkpointer.stop.set()
    checkpointer.join(5)
    db.close()
    assert not checkpointer.is_alive()
    assert written > 1_000 and checkpointer.restarts >= 1
    # Without checkpoints the log would hold every page written; it started over instead.
    frames = _log_frames(path)
    assert 0 <= frames < written / 2, (frames, written)
    assert os.path.getsize(f"{path}-wal") < written * 4096 / 2


@pytest.mark.django_db(transaction=True)
def test_start_checkpointer_runs_one_thread_per_process(
    tmp_path: Path, monkeypatch: Any, turns: None
) -> None:
    path = tmp_path / "linli.sqlite3"
    _database(path).close()
    monkeypatch.setattr(sqlite, "database_file", lambda: path)
    monkeypatch.setattr(sqlite, "_checkpointer", None)
    try:
        first = sqlite.start_checkpointer()
        assert first is not None and first.is_alive() and first.path == path
        assert sqlite.start_checkpointer() is first  # once per process
        if connection.vendor == "sqlite":
            # This process's connections leave the checkpoints to the thread.
            connection.close()
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_autocheckpoint")
                assert cursor.fetchone()[0] == sqlite.FALLBACK_FRAMES
        # A forked child (a server's worker) has its own thread.
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover  (the child reports through the pipe)
            child = sqlite._checkpointer
            ok = child is not None and child is not first and child.is_alive()
            os.write(write, b"1" if ok and child.pid == os.getpid() else b"0")
            os._exit(0)
        os.close(write)
        assert os.read(read, 1) == b"1"
        os.waitpid(pid, 0)
    finally:
        stopped = sqlite._checkpointer
        if stopped is not None:
            stopped.stop.set()
            stopped.join(5)
        from django.db.backends.signals import connection_created

        connection_created.disconnect(dispatch_uid="linli-sqlite-wal")
        connection.close()


def test_no_checkpointer_without_a_sqlite_file(monkeypatch: Any) -> None:
    monkeypatch.setattr(sqlite, "database_file", lambda: None)
    monkeypatch.setattr(sqlite, "_checkpointer", None)
    assert sqlite.start_checkpointer() is None

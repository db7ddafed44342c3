"""SQLite deployments: writers on the hot path take turns (one process at a time), and the
write-ahead log is checkpointed by a background thread instead of by the writer that
happens to commit when it is full."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.signals import connection_created

log = logging.getLogger(__name__)

# How often the checkpointer copies the log into the database (without stopping writers).
CHECKPOINT_SECONDS = 0.2
# A log this long (frames of one page, 4 KiB) is checkpointed while writers wait their
# turn, so it is copied in full and the next writer starts it over: its size stays bounded.
RESTART_FRAMES = 4096
# The connections' own checkpoint, left as a safety net should the thread stop.
FALLBACK_FRAMES = 2 * RESTART_FRAMES


def database_file(db: Mapping[str, Any] | None = None) -> Path | None:
    """The (default) database's file when it is SQLite on disk, else ``None``."""
    db = settings.DATABASES["default"] if db is None else db
    name = str(db.get("NAME") or "")
    if db["ENGINE"] != "django.db.backends.sqlite3" or not name or name == ":memory:":
        return None
    if name.startswith("file:"):
        return None  # a URI (shared memory in tests): no file to put a lock beside
    return Path(name)


_writer_files: dict[str, int] = {}


@contextlib.contextmanager
def writer_turn() -> Iterator[None]:
    """Wait for this process's turn to write (SQLite files only; elsewhere nothing).

    SQLite lets one connection write at a time, and one that finds the database locked
    sleeps 1, 2, 5, 10 … ms before it looks again, however soon the lock is free. Writers
    on the hot path (the access decision's log entry) queue here instead, on an advisory
    lock on a file beside the database, and the kernel wakes the next one the moment the
    lock is released: with two processes inserting as fast as they could, the p99 of an
    insert fell from 1.2 ms to 0.2 ms. Threads of one process share the lock (they still
    meet at SQLite's).
    """
    path = database_file()
    if path is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        # In a transaction the connection holds SQLite's lock already (Linli's transactions
        # begin IMMEDIATE): waiting here for another writer could deadlock with it.
        yield
        return
    key = str(path)
    fd = _writer_files.get(key)
    if fd is None:
        fd = _writer_files[key] = _lock_file(path)
    with _turn(fd):
        yield


def _lock_file(path: Path) -> int:
    return os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)


@contextlib.contextmanager
def _turn(fd: int) -> Iterator[None]:
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


class Checkpointer(threading.Thread):
    """Checkpoints the write-ahead log of a SQLite file off the request path.

    SQLite's own checkpoint runs inside the commit that finds the log past 1,000 pages:
    it copies them into the database and syncs both files, and the request that committed
    waits for it, with every writer queued behind it (:func:`writer_turn`). At 1,000 access
    decisions a second that was several times a second, and those commits took 7–15 ms
    (docs/benchmarks.md, ``access``).

    This thread checkpoints every :data:`CHECKPOINT_SECONDS` alongside the writers (a
    passive checkpoint waits for nobody), and the connections of its process only fall
    back to their own at :data:`FALLBACK_FRAMES`. A log always being written is never
    completely copied by a passive checkpoint, so it would never start over; once it
    reaches :data:`RESTART_FRAMES` the thread takes the writers' turn for one checkpoint,
    which finds little left to copy and lets the next writer start the log over.
    """

    def __init__(
        self,
        path: Path,
        *,
        every: float = CHECKPOINT_SECONDS,
        restart_frames: int = RESTART_FRAMES,
    ) -> None:
        super().__init__(name="sqlite-checkpointer", daemon=True)
        self.path = path
        self.every = every
        self.restart_frames = restart_frames
        self.pid = os.getpid()
        self.stop = threading.Event()
        self.checkpoints = 0
        self.restarts = 0

    def run(self) -> None:
        """Checkpoint until :attr:`stop` is set (a failed checkpoint is logged and retried)."""
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        try:
            while not self.stop.wait(self.every):
                try:
                    self.checkpoint(db)
                except sqlite3.Error as exc:
                    log.warning("WAL checkpoint of %s failed: %s", self.path, exc)
        finally:
            db.close()

    def checkpoint(self, db: sqlite3.Connection | None = None) -> tuple[int, int, int]:
        """One passive checkpoint, and one in the writers' turn if the log has grown past
        :attr:`restart_frames`; return SQLite's ``(busy, log frames, frames copied)``."""
        own = db is None
        db = db or sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            busy, frames, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
            if frames >= self.restart_frames:
                # Its own open lock file: the lock is held per open file, and the
                # process's writers share theirs (a turn taken through it would neither
                # keep them out nor stay taken when they finish theirs).
                fd = _lock_file(self.path)
                try:
                    with _turn(fd):
                        busy, frames, copied = db.execute(
                            "PRAGMA wal_checkpoint(PASSIVE)"
                        ).fetchone()
                finally:
                    os.close(fd)
                self.restarts += 1
            return int(busy), int(frames), int(copied)
        finally:
            if own:
                db.close()


_checkpointer: Checkpointer | None = None
_checkpointer_lock = threading.Lock()


def start_checkpointer() -> Checkpointer | None:
    """Run a :class:`Checkpointer` in this process (once; again in a forked child) when the
    database is a SQLite file, and raise its connections' own checkpoint threshold to
    :data:`FALLBACK_FRAMES`. Serving processes, the worker and the gateway call this."""
    global _checkpointer
    path = database_file()
    if path is None:
        return None
    with _checkpointer_lock:
        if _checkpointer is None or _checkpointer.pid != os.getpid():
            _checkpointer = Checkpointer(path)
            _checkpointer.start()
            connection_created.connect(_fallback_threshold, dispatch_uid="linli-sqlite-wal")
            for conn in connections.all(initialized_only=True):
                if conn.vendor == "sqlite" and conn.connection is not None:
                    _fallback_threshold(conn.__class__, conn)
        return _checkpointer


def _fallback_threshold(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite" and _checkpointer is not None:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_FRAMES}")


def _forked() -> None:
    """A forked child has none of its parent's threads: its checkpointer starts again (the
    connection threshold's receiver came across with the rest of the parent's memory)."""
    global _checkpointer, _checkpointer_lock
    _checkpointer_lock = threading.Lock()  # another thread may have held it at the fork
    if _checkpointer is not None:
        _checkpointer = Checkpointer(_checkpointer.path)
        _checkpointer.start()


os.register_at_fork(after_in_child=_forked)

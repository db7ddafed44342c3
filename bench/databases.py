"""Scratch databases for a benchmark run: a temporary SQLite file or a PostgreSQL database."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

KINDS = ("sqlite", "postgres")
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class ScratchDatabase:
    """Where a run's data lives: the environment the server and the setup steps get."""

    kind: str
    env: dict[str, str]
    label: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--db`` and ``--pg-url``."""
    group = parser.add_argument_group("database")
    group.add_argument(
        "--db", choices=[*KINDS, "both"], default="both", help="database(s) to run on"
    )
    group.add_argument(
        "--pg-url",
        default=os.environ.get("LINLI_BENCH_PG_URL", DEFAULT_PG_URL),
        help="PostgreSQL server to create the scratch database on (loopback only; "
        f"default $LINLI_BENCH_PG_URL or {DEFAULT_PG_URL})",
    )


def kinds(choice: str) -> list[str]:
    """Return the database kinds a ``--db`` choice stands for."""
    return list(KINDS) if choice == "both" else [choice]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def scratch(kind: str, home: Path, *, pg_url: str, name: str) -> Iterator[ScratchDatabase]:
    """Create an empty database of ``kind`` for one run; drop it afterwards.

    SQLite lives under ``home`` (``LINLI_HOME``), which the caller removes. PostgreSQL gets
    a database called ``name`` on the server of ``pg_url``, dropped on exit.
    """
    if kind == "sqlite":
        yield ScratchDatabase(kind, {}, f"SQLite file under {home}")
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}")
    host = urlsplit(pg_url).hostname or ""
    if host not in LOOPBACK:
        raise ValueError(f"benchmarks only use a local PostgreSQL, not {host!r}")
    import psycopg
    from psycopg import sql

    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        version = admin.execute("SHOW server_version").fetchone()
    try:
        yield ScratchDatabase(
            kind,
            {"LINLI_DATABASE_URL": _with_database(pg_url, name)},
            f"PostgreSQL {version[0] if version else '?'} database {name}",
        )
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

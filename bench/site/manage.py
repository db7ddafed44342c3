"""Django-side steps of the benchmarks, run in a child process with the server's environment.

``python -m bench.site.manage prepare-api`` migrates and seeds the data the ``api``
benchmark reads; ``python -m bench.site.manage profile`` (a JSON spec on stdin) sends
requests through Linli's WSGI handler in-process and counts the SQL each one runs. Both
print their result as one ``BENCH_JSON {...}`` line on stdout.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

MARKER = "BENCH_JSON"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.site.settings")
    import django

    django.setup()


def prepare_api(residents: int) -> dict[str, Any]:
    """Migrate, seed two communities, and give a property manager a read-only API token."""
    from django.core.management import call_command

    from linli.core.actions import do_create_api_token, do_create_user, do_give_grant
    from linli.core.choices import OrganisationType, Role
    from linli.core.models import Organisation
    from linli.core.tenancy import Actor
    from linli.seed import seed_community

    call_command("migrate", interactive=False, verbosity=0)
    system = Actor.system("bench")
    target = seed_community(residents=residents, seed=1, code="bench-a")
    # A second tenant, so the API's tenancy filter has something to keep out.
    other = seed_community(residents=max(1, residents // 5), seed=2, code="bench-b")
    community = target.community
    company = Organisation.objects.get(
        name=f"{community.name}物业服务有限公司", type=OrganisationType.PROPERTY_COMPANY
    )
    # Shaped like the seed's staff accounts: a user of the property company with its own grant.
    user = do_create_user(
        system, username="bench-api", password=None, display_name="压测", organisation=company
    )
    do_give_grant(system, community_id=community.pk, role=Role.PROPERTY_MANAGER, user=user)
    _, raw = do_create_api_token(Actor.for_user(user), name="bench", read_only=True)
    return {
        "community_id": community.pk,
        "other_community_id": other.community.pk,
        "token": raw,
        "seeded": [target.describe(), other.describe()],
    }


def _environ(path: str, headers: dict[str, str]) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _call(
    handler: Callable[..., Iterable[bytes]], path: str, headers: dict[str, str]
) -> tuple[int, bytes]:
    """Send one GET through the WSGI handler, as gunicorn would (closing fires request_finished)."""
    statuses: list[str] = []

    def start_response(status: str, response_headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda data: None

    result = handler(_environ(path, headers), start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return int(statuses[0].split()[0]), body


def _traced_call(
    handler: Callable[..., Iterable[bytes]], path: str, headers: dict[str, str]
) -> tuple[int, bytes, list[str], int]:
    """Send one request; return its status, body, SQL statements and connections opened.

    Statements a backend runs on its own (SQLite's connection PRAGMAs, PostgreSQL's
    health-check ``SELECT 1``) bypass Django's execute wrappers and are not listed.
    """
    from django.db import connection
    from django.db.backends.signals import connection_created

    statements: list[str] = []
    opened: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    def on_connect(sender: Any, connection: Any, **kwargs: Any) -> None:
        opened.append(connection.alias)

    connection_created.connect(on_connect)
    try:
        with connection.execute_wrapper(record):
            status, body = _call(handler, path, headers)
    finally:
        connection_created.disconnect(on_connect)
    return status, body, statements, len(opened)


def profile(requests: list[dict[str, Any]], timed: int) -> dict[str, Any]:
    """Count the SQL statements and new connections of each request; time ``timed`` more."""
    from django.core.wsgi import get_wsgi_application

    handler = get_wsgi_application()
    out: dict[str, Any] = {}
    for spec in requests:
        path: str = spec["path"]
        headers: dict[str, str] = spec.get("headers", {})
        for _ in range(5):  # warm up: imports, caches, the token's last-used stamp
            _call(handler, path, headers)
        status, body, statements, opened = _traced_call(handler, path, headers)
        started = time.perf_counter()
        for _ in range(timed):
            _call(handler, path, headers)
        elapsed = time.perf_counter() - started
        out[spec["name"]] = {
            "status": status,
            "bytes": len(body),
            "queries": len(statements),
            "sql": [" ".join(s.split())[:400] for s in statements],
            "connections_opened": opened,
            "in_process_ms": round(elapsed / timed * 1000, 3) if timed else None,
        }
    return out


def main(argv: list[str] | None = None) -> None:
    """Run one Django-side step and print its result line."""
    parser = argparse.ArgumentParser(prog="python -m bench.site.manage")
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare-api", help="migrate and seed the api benchmark's data")
    p.add_argument("--residents", type=int, default=50)
    p = sub.add_parser("profile", help="count queries per request (JSON spec on stdin)")
    p.add_argument("--timed", type=int, default=200, help="requests timed per path")
    args = parser.parse_args(argv)
    _setup()
    if args.step == "prepare-api":
        result = prepare_api(args.residents)
    else:
        result = profile(json.load(sys.stdin)["requests"], args.timed)
    print(MARKER, json.dumps(result, ensure_ascii=False, default=str), flush=True)


if __name__ == "__main__":
    main()

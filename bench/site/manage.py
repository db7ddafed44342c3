"""Django-side steps of the benchmarks, run in a child process with the server's environment.

``python -m bench.site.manage prepare-api`` migrates and seeds the data the ``api``
benchmark reads; ``python -m bench.site.manage profile`` (a JSON spec on stdin) sends
requests through Linli's WSGI handler in-process and counts the SQL each one runs. Both
print their result as one ``BENCH_JSON {...}`` line on stdout.

The ``access`` benchmark's steps: ``prepare-access`` (migrate, seed, access points with
their terminals, a policy, cards and PINs), ``access-passes`` (a file of fresh 一码通
passes), ``access-events`` (the access log's entries by reason since an id),
``inproc-access`` (decisions timed in-process, SQL per decision, a cProfile breakdown of
the HTTP decision) and ``offline-access`` (pass verification on one core, no database).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from bench import report

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


def _environ(
    path: str, headers: dict[str, str], *, method: str = "GET", body: bytes = b""
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if body:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _call(
    handler: Callable[..., Iterable[bytes]],
    path: str,
    headers: dict[str, str],
    *,
    method: str = "GET",
    body: bytes = b"",
) -> tuple[int, bytes]:
    """Send one request through the WSGI handler, as gunicorn would (closing fires
    request_finished)."""
    statuses: list[str] = []

    def start_response(status: str, response_headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda data: None

    result = handler(_environ(path, headers, method=method, body=body), start_response)
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
    from linli.wsgi import application as wsgi_application

    handler = wsgi_application
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


# The access benchmark ----------------------------------------------------------------

ACCESS_COMMUNITY = "bench-access"
DECIDE_PATH = "/device/v1/access/decide"
METHODS = ("card", "pin", "qr")


def card_uid(i: int) -> str:
    """Return the synthetic card UID of the ``i``-th resident (8 hex digits, unique)."""
    return f"B5{i:06X}"


def resident_pin(i: int) -> str:
    """Return the synthetic 6-digit PIN of the ``i``-th resident (unique for i < 900,000)."""
    return f"{(7919 * i + 123457) % 900_000 + 100_000}"


def prepare_access(residents: int, points: int, credentials: int) -> dict[str, Any]:
    """Migrate; seed a community, ``points`` gates each with its own terminal, a policy
    letting residents through them, and a card and a PIN for ``credentials`` residents."""
    from django.core.management import call_command

    from linli.access import actions, manage
    from linli.access.choices import Effect, GroupKind, PointKind
    from linli.access.models import AccessRight
    from linli.core.tenancy import Actor
    from linli.devices.actions import do_register_device
    from linli.people.models import Person
    from linli.seed import seed_community

    call_command("migrate", interactive=False, verbosity=0)
    system = Actor.system("bench")
    seeded = seed_community(residents=residents, seed=1, code=ACCESS_COMMUNITY)
    community = seeded.community
    gates: list[dict[str, str]] = []
    point_ids = []
    for n in range(1, points + 1):
        device, secret = do_register_device(
            system,
            community,
            kind="code_reader",
            code=f"bench-reader-{n:03d}",
            name=f"{n}号门读头",
            serial=f"BENCH-{n:05d}",
        )
        point = manage.do_create_access_point(
            system,
            community,
            code=f"gate-{n:03d}",
            name=f"{n}号门",
            kind=PointKind.COMMUNITY_GATE,
            device_ids=[device.pk],
        )
        point_ids.append(point.pk)
        gates.append({"point": point.code, "device": device.code, "secret": secret})
    group = manage.do_create_group(system, community, name="全体住户", kind=GroupKind.RESIDENTS)
    manage.do_create_policy(
        system,
        community,
        name="住户出入各门",
        effect=Effect.ALLOW,
        group_id=group.pk,
        point_ids=point_ids,
    )
    # The people the policy lets through (its compiled rights), first ones first.
    allowed = sorted(
        set(
            AccessRight.objects.filter(point_id=point_ids[0], effect=Effect.ALLOW).values_list(
                "person_id", flat=True
            )
        )
    )[:credentials]
    cards: list[str] = []
    pins: list[str] = []
    for i, person in enumerate(Person.objects.filter(pk__in=allowed).order_by("pk")):
        actions.do_issue_credential(system, person, community.pk, kind="card", value=card_uid(i))
        actions.do_issue_credential(system, person, community.pk, kind="pin", value=resident_pin(i))
        cards.append(card_uid(i))
        pins.append(resident_pin(i))
    # The planner's statistics, as autovacuum would have them on a database in use (right
    # after the seeding they still describe empty tables).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "community_id": community.pk,
        "community_code": community.code,
        "seeded": seeded.describe(),
        "residents": seeded.residents,
        "rights": AccessRight.objects.filter(community=community).count(),
        "with_card_and_pin": len(cards),
        "gates": gates,
        "cards": cards,
        "pins": pins,
    }


def _community_id() -> int:
    from linli.places.models import Community

    return int(Community.objects.values_list("pk", flat=True).get(code=ACCESS_COMMUNITY))


def fresh_passes(count: int, lifetime: int, issued_at: int | None = None) -> list[str]:
    """Sign ``count`` passes (each its own nonce) for the residents the gates let through."""
    from linli.access import keys, passes
    from linli.access.choices import CredentialKind, CredentialStatus, Effect
    from linli.access.models import AccessRight, Credential

    community_id = _community_id()
    allowed = AccessRight.objects.filter(community_id=community_id, effect=Effect.ALLOW)
    credential_ids = list(
        Credential.objects.filter(
            community_id=community_id,
            kind=CredentialKind.QR,
            status=CredentialStatus.ACTIVE,
            person_id__in=allowed.values("person_id"),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    key_id, private = keys.cache.signer(community_id)
    now = int(time.time()) if issued_at is None else issued_at
    return [
        passes.issue(
            private,
            key_id=key_id,
            community_id=community_id,
            credential_id=credential_ids[i % len(credential_ids)],
            issued_at=now,
            lifetime=lifetime,
        )
        for i in range(count)
    ]


def access_passes(
    count: int, lifetime: int, gates: list[dict[str, str]], out: str
) -> dict[str, Any]:
    """Write ``count`` request lines of fresh passes to ``out``, the gates taken in turn."""
    started = time.perf_counter()
    texts = fresh_passes(count, lifetime)
    with open(out, "w", encoding="utf-8") as f:
        for i, text in enumerate(texts):
            gate = gates[i % len(gates)]
            f.write(request_line(gate, "qr", text) + "\n")
    return {
        "count": count,
        "lifetime": lifetime,
        "seconds": round(time.perf_counter() - started, 2),
    }


def request_line(gate: dict[str, str], method: str, value: str) -> str:
    """One line of a bodies file: the terminal's Authorization value, a tab, the JSON body."""
    body = json.dumps({"point": gate["point"], "method": method, "value": value})
    return f"Bearer {gate['device']}:{gate['secret']}\t{body}"


def access_events(after: int) -> dict[str, Any]:
    """Count the access log's entries after id ``after`` by method and reason."""
    from django.db.models import Count, Max

    from linli.access.models import AccessEvent

    recent = AccessEvent.objects.filter(pk__gt=after)
    counts: dict[str, dict[str, int]] = {}
    for row in recent.values("method", "reason").annotate(n=Count("id")).order_by():
        counts.setdefault(row["method"] or "-", {})[row["reason"]] = row["n"]
    last = recent.aggregate(last=Max("id"))["last"]
    return {"after": after, "last_id": last or after, "counts": counts}


def timing_summary(seconds: list[float]) -> dict[str, float]:
    """Return mean, p50, p99 and max in µs, and the rate one process sustains."""
    ordered = sorted(seconds)
    mean = sum(ordered) / len(ordered)
    return {
        "n": len(ordered),
        "mean_us": round(mean * 1e6, 1),
        "p50_us": round(report.percentile(ordered, 50) * 1e6, 1),
        "p99_us": round(report.percentile(ordered, 99) * 1e6, 1),
        "max_us": round(ordered[-1] * 1e6, 1),
        "per_second": round(1 / mean, 1) if mean else 0.0,
    }


# (label, file suffix, function) of the pieces of an HTTP decision the profile reports.
PROFILE_PIECES = (
    ("whole request (direct endpoint)", "linli/core/wsgi.py", "serve_direct"),
    ("device authentication (token)", "linli/access/http.py", "_token_terminal"),
    ("body validation (pydantic)", "linli/access/http.py", "_parse"),
    ("access point lookup", "linli/access/http.py", "_point_of"),
    ("decide()", "linli/access/decisions.py", "decide"),
    ("  credential and rights lookup", "linli/access/decisions.py", "_lookup"),
    ("    pass check (base45 + Ed25519)", "linli/access/passes.py", "verify"),
    ("    its SQL", "linli/access/decisions.py", "_rows"),
    ("  rights check", "linli/access/decisions.py", "_check_holder"),
    ("  access log INSERT (with a pass's nonce)", "linli/access/decisions.py", "_log"),
    ("    of which a transaction's COMMIT", "django/db/backends/base/base.py", "_commit"),
    ("JSON answer", "json/__init__.py", "dumps"),
    ("request log line", "linli/core/middleware.py", "log_request"),
)


def _profile_pieces(stats: Any, requests: int) -> list[dict[str, Any]]:
    """Return the cumulative time of each piece per request, and its share of the request."""
    totals: dict[str, float] = {}
    for (filename, _line, function), entry in stats.stats.items():
        for label, suffix, name in PROFILE_PIECES:
            if function == name and filename.endswith(suffix):
                totals[label] = totals.get(label, 0.0) + entry[3]  # cumulative seconds
    whole = totals.get(PROFILE_PIECES[0][0], 0.0) or 1.0
    return [
        {
            "piece": label,
            "us_per_request": round(totals.get(label, 0.0) / requests * 1e6, 1),
            "share": round(totals.get(label, 0.0) / whole, 3),
        }
        for label, _suffix, _name in PROFILE_PIECES
    ]


def _top_functions(stats: Any, requests: int, limit: int = 15) -> list[dict[str, Any]]:
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:limit]
    return [
        {
            "function": f"{filename.rsplit('site-packages/', 1)[-1]}:{line}({function})",
            "own_us_per_request": round(entry[2] / requests * 1e6, 1),
            "cumulative_us_per_request": round(entry[3] / requests * 1e6, 1),
        }
        for (filename, line, function), entry in rows
    ]


def _statements(run: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Run ``run()`` once; return its result and the SQL statements Django executed."""
    from django.db import connection

    statements: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(" ".join(sql.split())[:400])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        result = run()
    return result, statements


def inproc_access(spec: dict[str, Any]) -> dict[str, Any]:
    """Time decisions in-process: ``decide()`` alone, then the whole HTTP decision through
    the WSGI handler (and the do-nothing POST), then the HTTP decision under cProfile."""
    import cProfile
    import pstats
    from collections import Counter

    from linli.access.decisions import Presented, decide
    from linli.access.models import AccessEvent, AccessPoint
    from linli.wsgi import application as wsgi_application

    gates: list[dict[str, str]] = spec["gates"]
    iterations: int = spec["iterations"]
    profiled: int = spec["profiled"]
    points = {p.code: p for p in AccessPoint.objects.filter(code__in=[g["point"] for g in gates])}
    warm = 20

    def values(method: str, count: int) -> list[str]:
        if method == "card":
            return [spec["cards"][i % len(spec["cards"])] for i in range(count)]
        if method == "pin":
            return [spec["pins"][i % len(spec["pins"])] for i in range(count)]
        return fresh_passes(count, 60)  # signed before the clock starts

    out: dict[str, Any] = {"decide": {}, "http": {}, "profile": {}}
    # decide() alone: the decision and its log entry, no HTTP, no authentication.
    for method in METHODS:
        supply = values(method, warm + 1 + iterations)
        reasons: Counter[str] = Counter()
        for i in range(warm):
            reasons[
                decide(points[gates[i % len(gates)]["point"]], Presented(method, supply[i])).reason
            ] += 1
        point = points[gates[warm % len(gates)]["point"]]
        decision, sql = _statements(lambda: decide(point, Presented(method, supply[warm])))  # noqa: B023
        reasons[decision.reason] += 1
        times = []
        for i in range(warm + 1, warm + 1 + iterations):
            point = points[gates[i % len(gates)]["point"]]
            presented = Presented(method, supply[i])
            started = time.perf_counter()
            reason = decide(point, presented).reason
            times.append(time.perf_counter() - started)
            reasons[reason] += 1
        out["decide"][method] = {
            **timing_summary(times),
            "queries": len(sql),
            "sql": sql,
            "reasons": dict(reasons),
        }

    # The whole HTTP decision in one process: Django, authentication, parsing, decide().
    handler = wsgi_application

    def http_lines(method: str, count: int) -> list[tuple[dict[str, str], bytes]]:
        lines = []
        for i, value in enumerate(values(method, count)):
            gate = gates[i % len(gates)]
            body = json.dumps({"point": gate["point"], "method": method, "value": value}).encode()
            lines.append(({"Authorization": f"Bearer {gate['device']}:{gate['secret']}"}, body))
        return lines

    def post(headers: dict[str, str], body: bytes, path: str = DECIDE_PATH) -> tuple[int, bytes]:
        return _call(handler, path, headers, method="POST", body=body)

    noop_body = b'{"point": "gate-001", "method": "card", "value": "B5000000"}'
    for name, path in (("noop-direct", "/bench/noop-direct"), ("noop", "/bench/noop-post")):
        for _ in range(warm):
            post({}, noop_body, path)
        times = []
        for _ in range(iterations):
            started = time.perf_counter()
            post({}, noop_body, path)
            times.append(time.perf_counter() - started)
        out["http"][name] = {**timing_summary(times), "queries": 0}
    for method in METHODS:
        supply = http_lines(method, warm + 1 + iterations)
        reasons = Counter()
        for headers, body in supply[:warm]:
            reasons[json.loads(post(headers, body)[1])["reason"]] += 1
        (status, answer), sql = _statements(lambda: post(*supply[warm]))  # noqa: B023
        reasons[json.loads(answer)["reason"]] += 1
        times = []
        for headers, body in supply[warm + 1 :]:
            started = time.perf_counter()
            status, answer = post(headers, body)
            times.append(time.perf_counter() - started)
            reasons[json.loads(answer).get("reason", f"http_{status}")] += 1
        out["http"][method] = {
            **timing_summary(times),
            "status": status,
            "queries": len(sql),
            "sql": sql,
            "reasons": dict(reasons),
        }
        # Where the time goes, under cProfile (which slows Python code more than C code:
        # read the shares, and the untraced timing above for the absolute figure).
        supply = http_lines(method, profiled)
        profiler = cProfile.Profile()
        profiler.enable()
        for headers, body in supply:
            post(headers, body)
        profiler.disable()
        stats = pstats.Stats(profiler)
        out["profile"][method] = {
            "requests": profiled,
            "pieces": _profile_pieces(stats, profiled),
            "top_own_time": _top_functions(stats, profiled),
        }
    out["events_logged"] = AccessEvent.objects.count()
    return out


def offline_access(seconds: float, rounds: int) -> dict[str, Any]:
    """Verifications per second on one core, no database: raw Ed25519, ``passes.verify``,
    and an :class:`OfflineTerminal` verifying and deciding (with its nonce memory)."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from linli.access import passes
    from linli.access.terminal import OfflineTerminal

    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    community_id, credential_id, key_id, point = 7, 42, 1, "gate-001"
    t0 = int(time.time())
    body = bytes(passes.BODY_BYTES)
    message = passes.DOMAIN + body  # what a pass signs: 13-byte tag + 31-byte body
    signature = private.sign(message)
    one_pass = passes.issue(
        private, key_id=key_id, community_id=community_id, credential_id=credential_id, issued_at=t0
    )
    # A terminal sees one pass a second of its (simulated) clock: it holds ≤ 66 nonces.
    timeline = [
        passes.issue(
            private,
            key_id=key_id,
            community_id=community_id,
            credential_id=credential_id,
            issued_at=t0 + i,
            lifetime=60,
        )
        for i in range(20_000)
    ]
    raw_public = base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    document = {
        "version": 1,
        "full": True,
        "sync_key": base64.b64encode(b"k" * 32).decode(),
        "remove": [],
        "entries": [
            {
                "credential_id": credential_id,
                "kind": "qr",
                "match": None,
                "valid_from": None,
                "valid_until": None,
                "holder": "p:1",
                "rules": {point: [["allow", None, None, None]]},
            }
        ],
        "schedules": {},
        "holidays": {},
        "keys": {"keys": [{"kid": key_id, "ed25519": raw_public}], "revoked": []},
    }
    when = dt.datetime.fromtimestamp(t0, dt.UTC)

    def raw(i: int, state: Any) -> None:
        public.verify(signature, message)

    def verify(i: int, state: Any) -> None:
        passes.verify(one_pass, keys={key_id: public}, community_id=community_id, now=t0)

    def terminal(i: int, state: Any) -> None:
        n = i % len(timeline)
        claims = state.verify_pass(timeline[n], t0 + n)
        allowed, _reason = state.decide(point, claims.credential_id, when)
        if not allowed:
            raise RuntimeError(_reason)

    def new_terminal() -> OfflineTerminal:
        state = OfflineTerminal(community_id)
        state.apply(document)
        return state

    cases: dict[str, Callable[[int, Any], None]] = {
        "raw_ed25519": raw,
        "passes_verify": verify,
        "terminal_verify_decide": terminal,
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    for r in range(rounds):
        names = list(cases)
        names = names[r % len(names) :] + names[: r % len(names)]
        for name in names:
            state = new_terminal()
            done = 0
            wall, cpu = time.perf_counter(), time.process_time()
            while time.perf_counter() - wall < seconds and done < len(timeline):
                for i in range(done, done + 200):
                    cases[name](i, state)
                done += 200
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            runs[name].append(
                {"count": done, "per_second": done / wall, "per_cpu_second": done / cpu}
            )
    # A burst: 2,000 different passes within one second, all remembered until they expire.
    burst = [
        passes.issue(
            private,
            key_id=key_id,
            community_id=community_id,
            credential_id=credential_id,
            issued_at=t0,
        )
        for _ in range(2_000)
    ]
    state = new_terminal()
    started = time.perf_counter()
    for text in burst:
        state.verify_pass(text, t0)
    burst_rate = len(burst) / (time.perf_counter() - started)
    return {
        "seconds": seconds,
        "rounds": rounds,
        "message_bytes": len(message),
        "runs": runs,
        "burst_2000_same_second_per_second": round(burst_rate, 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Run one Django-side step and print its result line."""
    parser = argparse.ArgumentParser(prog="python -m bench.site.manage")
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare-api", help="migrate and seed the api benchmark's data")
    p.add_argument("--residents", type=int, default=50)
    p = sub.add_parser("profile", help="count queries per request (JSON spec on stdin)")
    p.add_argument("--timed", type=int, default=200, help="requests timed per path")
    p = sub.add_parser("prepare-access", help="migrate and seed the access benchmark's data")
    p.add_argument("--residents", type=int, default=1000)
    p.add_argument("--points", type=int, default=20)
    p.add_argument("--credentials", type=int, default=500)
    p = sub.add_parser("access-passes", help="write fresh passes (gates as JSON on stdin)")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--lifetime", type=int, default=60)
    p.add_argument("--out", required=True)
    p = sub.add_parser("access-events", help="count access log entries by reason")
    p.add_argument("--after", type=int, default=0)
    sub.add_parser("inproc-access", help="time decisions in-process (JSON spec on stdin)")
    p = sub.add_parser("offline-access", help="offline pass verifications per second")
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    _setup()
    result: Any
    if args.step == "prepare-api":
        result = prepare_api(args.residents)
    elif args.step == "profile":
        result = profile(json.load(sys.stdin)["requests"], args.timed)
    elif args.step == "prepare-access":
        result = prepare_access(args.residents, args.points, args.credentials)
    elif args.step == "access-passes":
        gates = json.load(sys.stdin)["gates"]
        result = access_passes(args.count, args.lifetime, gates, args.out)
    elif args.step == "access-events":
        result = access_events(args.after)
    elif args.step == "inproc-access":
        result = inproc_access(json.load(sys.stdin))
    else:
        result = offline_access(args.seconds, args.rounds)
    print(MARKER, json.dumps(result, ensure_ascii=False, default=str), flush=True)


if __name__ == "__main__":
    main()

"""The ``linli`` command: the process roles (serve, worker, gateway) and administration."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEMO_PASSWORD = "demo-linli-2026"  # noqa: S105  (printed by `linli demo`; demo mode only)


def _setup(*, demo: bool = False) -> None:
    if demo:
        os.environ["LINLI_DEMO"] = "1"
        os.environ.setdefault("LINLI_HOME", str(Path.cwd()))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    from linli.config import ConfigError

    try:
        import django

        django.setup()
    except ConfigError as exc:
        sys.exit(f"linli: {exc}")


def cmd_migrate(args: argparse.Namespace) -> None:
    """Create or upgrade the database schema."""
    _setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1 if args.verbose else 0)
    print("database is up to date")


def cmd_createadmin(args: argparse.Namespace) -> None:
    """Create a platform administrator."""
    _setup()
    from linli.core import errors
    from linli.core.actions import do_create_user, do_give_grant
    from linli.core.choices import Role
    from linli.core.tenancy import Actor

    password = args.password or os.environ.get("LINLI_ADMIN_PASSWORD")
    if not password:
        password = getpass.getpass("password: ")
        if password != getpass.getpass("again: "):
            sys.exit("linli: passwords differ")
    system = Actor.system("cli:createadmin")
    try:
        user = do_create_user(system, username=args.username, password=password)
        do_give_grant(system, community_id=None, role=Role.PLATFORM_ADMIN, user=user)
    except errors.LinliError as exc:
        sys.exit(f"linli: {exc.message} {exc.details or ''}".strip())
    print(f"platform administrator {user.username!r} created")


def cmd_seed(args: argparse.Namespace) -> None:
    """Create a reproducible synthetic community."""
    _setup(demo=args.demo)
    from linli.seed import seed_community

    summary = seed_community(
        residents=args.residents, seed=args.seed, code=args.code, progress=not args.quiet
    )
    print(summary.describe())


def _serve(host: str, port: int, workers: int, *, embedded: bool) -> None:
    """Run gunicorn; ``embedded`` runs every role in one process (web threads + worker)."""
    from gunicorn.app.base import BaseApplication

    from linli.wsgi import application

    stop = threading.Event()

    def post_worker_init(worker: Any) -> None:
        # Started inside the serving process, after the fork: no thread crosses a fork.
        from linli.core.worker import run_forever

        threading.Thread(target=run_forever, args=(stop, "embedded-worker"), daemon=True).start()

    def worker_exit(server: Any, worker: Any) -> None:
        stop.set()

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            if embedded:
                self.cfg.set("workers", 1)
                self.cfg.set("worker_class", "gthread")
                self.cfg.set("threads", 8)
                self.cfg.set("post_worker_init", post_worker_init)
                self.cfg.set("worker_exit", worker_exit)
            else:
                self.cfg.set("workers", workers)
                self.cfg.set("worker_class", "sync")
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("keepalive", 5)
            self.cfg.set("accesslog", None)
            self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return application

    Server().run()


def _serve_granian(host: str, port: int, workers: int) -> None:
    """Run granian's WSGI server: ``workers`` processes, each one Python thread."""
    from granian.constants import Interfaces
    from granian.server import Server

    Server(
        "linli.wsgi:application",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=1,
        log_access=False,
    ).serve()


def cmd_serve(args: argparse.Namespace) -> None:
    """Serve the console and API (WSGI: granian, or gunicorn's sync workers); ``--all`` runs
    every role in one process (gunicorn, threads)."""
    _setup()
    if args.server == "granian" and not args.all:
        _serve_granian(args.host, args.port, args.workers)
        return
    _serve(args.host, args.port, args.workers, embedded=args.all)


def cmd_worker(args: argparse.Namespace) -> None:
    """Run the background worker role."""
    _setup()
    from linli.core.sqlite import start_checkpointer
    from linli.core.worker import run_forever

    start_checkpointer()
    stop = threading.Event()
    try:
        run_forever(stop, worker_id=f"worker-{os.getpid()}")
    except KeyboardInterrupt:
        stop.set()


def cmd_demo(args: argparse.Namespace) -> None:
    """Set up and run the embedded demo (SQLite under ./var, seeded community)."""
    _setup(demo=True)
    from django.conf import settings
    from django.core.management import call_command

    from linli.seed import ensure_demo

    print(f"Linli demo: data in {settings.VAR_DIR}")
    call_command("migrate", interactive=False, verbosity=0)
    logins = ensure_demo(password=DEMO_PASSWORD, residents=args.residents)
    host_shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104
    print()
    print(f"  Linli is running at  http://{host_shown}:{args.port}/")
    print(f"  API docs             http://{host_shown}:{args.port}/api/docs")
    print(f"  demo logins (password {DEMO_PASSWORD}):")
    for username, label in logins:
        print(f"    {username:<12} {label}")
    print()
    sys.stdout.flush()
    _serve(args.host, args.port, 1, embedded=True)


def cmd_genkey(args: argparse.Namespace) -> None:
    """Print a new data-key entry for ``LINLI_DATA_KEY``."""
    from linli.core.crypto import generate_key

    print(generate_key(args.kid))


def cmd_rotate_keys(args: argparse.Namespace) -> None:
    """Re-encrypt every sealed value under the active key."""
    _setup()
    from linli.core.rotation import rotate_all

    counts = rotate_all(progress=not args.quiet)
    for label, n in counts.items():
        print(f"{label}: {n} re-encrypted")


def _community(code: str) -> Any:
    from linli.places.models import Community

    community = Community.objects.filter(code=code).first()
    if community is None:
        sys.exit(f"linli: no community with code {code!r}")
    return community


def cmd_import_residents(args: argparse.Namespace) -> None:
    """Import residents from an xlsx file; print the report; exit 1 if refused, 2 if partial."""
    _setup()
    from tqdm import tqdm

    from linli.core import errors
    from linli.core.tabular import FileRejected, Mode
    from linli.core.tenancy import Actor
    from linli.people.imports import import_residents

    community = _community(args.community)
    mode: Mode = "valid_only" if args.valid_only else "all_or_nothing"
    bar = tqdm(total=0, unit="rows", desc="residents", disable=args.quiet, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        result = import_residents(
            Actor.system("cli:import-residents"), community, args.file, mode=mode, progress=progress
        )
    except FileRejected as exc:
        bar.close()
        sys.exit(f"linli: {args.file}: {exc.message}")
    except (OSError, errors.LinliError) as exc:
        bar.close()
        sys.exit(f"linli: {exc}")
    bar.close()
    for problem in result.report.as_dicts():
        value = problem["value"] or "-"
        print(f"row {problem['row']}\t{problem['column'] or '-'}\t{value}\t{problem['reason']}")
    if result.report.omitted:
        print(f"... and {result.report.omitted} more problems")
    print(
        f"{result.read} rows read: {result.applied} imported or changed, "
        f"{result.unchanged} unchanged, {result.invalid} with problems"
    )
    if not result.ok:
        if mode == "all_or_nothing" or result.aborted:
            print("nothing was imported (all or nothing); fix the rows above, or --valid-only")
            sys.exit(1)
        sys.exit(2)


def cmd_export_residents(args: argparse.Namespace) -> None:
    """Write a community's current residents to an xlsx file (masked unless --full)."""
    _setup()
    from linli.core.tenancy import Actor
    from linli.people.imports import export_residents

    community = _community(args.community)
    data = export_residents(
        Actor.system("cli:export-residents"), community, full=args.full, language=args.language
    )
    target = Path(args.output or f"{community.code}-residents.xlsx")
    target.write_bytes(data)
    what = "full ID numbers and phones" if args.full else "ID numbers and phones masked"
    print(f"{target}: residents of {community.code} ({what})")


def _broker_url(given: str) -> str:
    from django.conf import settings

    url = given or settings.LINLI_MQTT_URL
    if not url:
        sys.exit("linli: no broker: give --broker mqtt://user:password@host:1883 or LINLI_MQTT_URL")
    return str(url)


def cmd_gateway(args: argparse.Namespace) -> None:
    """Run the MQTT gateway role (shared subscription, store, then acknowledge)."""
    _setup()
    from linli.core.sqlite import start_checkpointer
    from linli.devices.gateway import Options, run

    start_checkpointer()
    options = Options(
        broker_url=_broker_url(args.broker),
        group=args.group,
        batch=args.batch,
        flush_ms=args.flush_ms,
        client_id=args.retire or args.client_id,
    )
    if not args.retire:
        run(options)
        return
    if run(options, retire=True):
        print(f"gateway session {args.retire} retired: what it held is stored")
    else:
        print(f"the broker held no session {args.retire}: nothing to retire")


def cmd_broker_config(args: argparse.Namespace) -> None:
    """Write Mosquitto's password file, ACL file and configuration from the device registry."""
    _setup()
    from linli.devices.broker import BrokerConfigError, GatewayAccount, write_from_registry

    host, _, port = args.listen.rpartition(":")
    try:
        account = GatewayAccount.from_url(_broker_url(args.broker))
        written = write_from_registry(
            Path(args.dir),
            account,
            group=args.group,
            host=host or "0.0.0.0",  # noqa: S104
            port=int(port),
        )
    except (BrokerConfigError, ValueError) as exc:
        sys.exit(f"linli: {exc}")
    for path in written:
        print(path)


def cmd_simulate(args: argparse.Namespace) -> None:
    """Run virtual devices against a platform over MQTT or HTTP; print what became of them."""
    from linli.devices import simulator

    path = Path(args.credentials or f"simulated-devices-{args.community}.json")
    if path.exists():
        devices = simulator.load_credentials(path)[: args.devices or None]
        print(f"{len(devices)} devices from {path}")
    else:
        _setup()
        community = _community(args.community)
        devices = simulator.register_devices(community.code, args.devices or 20)
        simulator.save_credentials(path, devices)
        print(f"registered {len(devices)} simulated devices in {community.code}; secrets in {path}")
        if args.mqtt:
            print("the broker must know them: run `linli broker-config` and reload the broker")
    try:
        simulator.run_simulation(
            devices,
            mqtt_url=args.mqtt,
            http_url=args.http,
            rate=args.rate,
            duration=args.duration or None,
            report_every=args.report_every,
            out=sys.stdout,
            passers=args.passers if _platform_here() else 0.0,
        )
    except ValueError as exc:
        sys.exit(f"linli: {exc}")


def _platform_here() -> bool:
    """Say whether this machine has the platform's database (for simulated passers)."""
    try:
        _setup()
        from linli.access.models import AccessPoint

        AccessPoint.objects.exists()
    except Exception:
        return False
    return True


def cmd_device_check(args: argparse.Namespace) -> None:
    """Check a platform's device endpoint against protocol v1; exit 1 if a check fails."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    try:  # the platform's database, if this machine has it: for the command round trip
        import django

        django.setup()
    except Exception:  # noqa: S110  (checking a remote platform needs no configuration)
        pass
    from linli.devices import conformance

    platform = conformance.LocalPlatform.find(args.device)
    try:
        if args.mqtt:
            community = args.community or (platform.device.community.code if platform else "")
            if not community:
                sys.exit("linli: give --community, the device's community code (MQTT topics)")
            outcomes = conformance.check_mqtt(
                args.mqtt, args.device, args.secret, community, platform
            )
        else:
            outcomes = conformance.check_http(args.http, args.device, args.secret, platform)
    except ValueError as exc:
        sys.exit(f"linli: {exc}")
    if not conformance.report(outcomes, sys.stdout):
        sys.exit(1)


def cmd_biometrics_evaluate(args: argparse.Namespace) -> None:
    """Measure the face engine (and the voice engine) on folders of labelled samples (one
    sub-folder per person): score distributions, EER, FRR at set FARs, identification and
    open-set rejection; write JSON reports and DET plots."""
    _setup()
    from linli.biometrics import evaluation

    if not args.faces and not args.voices:
        sys.exit("linli: give --faces DIR and/or --voices DIR")
    for flag, folder in (("--faces", args.faces), ("--voices", args.voices)):
        if folder and not Path(folder).is_dir():
            sys.exit(f"linli: {flag} {folder} is not a folder")
    runs: list[tuple[str, str, Any]] = []
    if args.faces:
        runs.append(("faces", "face", evaluation.evaluate_faces))
    if args.voices:
        try:
            import linli.biometrics.voice  # noqa: F401
        except ImportError:
            sys.exit(
                "linli: the voice extra is not installed "
                "(pip install 'linli[voice]' && pip install --no-deps resemblyzer)"
            )
        runs.append(("voices", "voice", evaluation.evaluate_voices))
    for name, modality, evaluate in runs:
        folder = Path(args.faces if name == "faces" else args.voices)
        report, scores = evaluate(folder, progress=not args.quiet)
        if not report["people"]:
            sys.exit(f"linli: no usable samples under {folder}")
        json_path, png_path = evaluation.write_report(Path(args.out), name, report, scores)
        if not args.no_store:  # the console's evaluation page shows the latest stored run
            evaluation.store(report, png_path.read_bytes(), modality)
        print(evaluation.describe(report))
        print(f"report: {json_path}\nplot:   {png_path}")


def cmd_biometrics_enrol_faces(args: argparse.Namespace) -> None:
    """Enrol the faces in a folder of photos named by ID number or person id (only people
    with a face consent); print the counts and each photo not enrolled; exit 2 if any."""
    _setup()
    from linli.biometrics import batch
    from linli.core.tenancy import Actor
    from linli.places.models import Community

    community = Community.objects.filter(code=args.community).first()
    if community is None and args.community.isdigit():
        community = Community.objects.filter(pk=int(args.community)).first()
    if community is None:
        sys.exit(f"linli: no community with code or id {args.community!r}")
    if not Path(args.dir).is_dir():
        sys.exit(f"linli: {args.dir} is not a folder")
    if args.workers < 0:
        sys.exit("linli: --workers must be 0 or more")
    report = batch.enrol_folder(
        Actor.system("cli:enrol-faces"),
        community.pk,
        Path(args.dir),
        workers=args.workers,
        progress=not args.quiet,
    )
    print("\n".join(report.describe()))
    if report.counts()[batch.ENROLLED] < len(report.outcomes):
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``linli`` command."""
    parser = argparse.ArgumentParser(prog="linli", description="Linli (邻里) smart community")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the console and API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2, help="WSGI worker processes")
    p.add_argument(
        "--server",
        choices=["granian", "gunicorn"],
        default="granian",
        help="WSGI server (default granian, which keeps connections alive; gunicorn runs sync"
        " workers; see docs/benchmarks.md)",
    )
    p.add_argument(
        "--all", action="store_true", help="run web and worker roles in one process (embedded)"
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="set up and run the embedded demo")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--residents", type=int, default=300)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("createadmin", help="create a platform administrator")
    p.add_argument("username")
    p.add_argument("--password", help="(or LINLI_ADMIN_PASSWORD, or asked)")
    p.set_defaults(func=cmd_createadmin)

    p = sub.add_parser("seed", help="create a reproducible synthetic community")
    p.add_argument("--residents", type=int, default=500)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--code", default="", help="community code (default: seed-<seed>)")
    p.add_argument("--demo", action="store_true", help="use the demo configuration")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_seed)

    p = sub.add_parser("worker", help="run the background worker role")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("gateway", help="run the MQTT gateway role")
    p.add_argument("--broker", default="", help="mqtt://user:password@host:port (LINLI_MQTT_URL)")
    p.add_argument("--group", default="linli", help="shared subscription group")
    p.add_argument("--batch", type=int, default=500, help="messages per database transaction")
    p.add_argument("--flush-ms", type=int, default=50, help="longest wait to fill a batch")
    p.add_argument(
        "--client-id",
        default="",
        help="MQTT client id, fixed per process so a restart resumes its session "
        "(default: linli-gateway-<hostname>)",
    )
    p.add_argument(
        "--retire",
        default="",
        metavar="CLIENT_ID",
        help="take over the session of a gateway stopped for good, store what it holds, "
        "and end it (the broker stops giving it a share of the messages)",
    )
    p.set_defaults(func=cmd_gateway)

    p = sub.add_parser(
        "broker-config", help="write Mosquitto password, ACL and config files from the registry"
    )
    p.add_argument("--dir", required=True, help="directory to write passwords, acl, mosquitto.conf")
    p.add_argument(
        "--broker", default="", help="the gateway's broker URL, with its username:password"
    )
    p.add_argument("--group", default="linli", help="shared subscription group")
    p.add_argument("--listen", default="0.0.0.0:1883", help="listener host:port")
    p.set_defaults(func=cmd_broker_config)

    p = sub.add_parser(
        "simulate",
        help="run virtual devices against a platform",
        description="Run a realistic mix of virtual devices over MQTT or HTTP. With an existing "
        "--credentials file, its devices are used (no database needed); otherwise --devices new "
        "simulated devices are registered in --community in this installation's database and "
        "their secrets written to the file.",
    )
    p.add_argument("--devices", type=int, default=0, help="how many devices (default 20 new)")
    p.add_argument("--rate", type=float, default=10.0, help="messages per second in total")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--mqtt", default="", help="broker URL, mqtt://host:1883")
    target.add_argument("--http", default="", help="platform URL, http://host:8000")
    p.add_argument("--community", default="demo", help="community code (default: demo)")
    p.add_argument("--duration", type=float, default=0, help="seconds to run (default: until ^C)")
    p.add_argument(
        "--credentials",
        default="",
        help="devices' credentials file (default: simulated-devices-<community>.json)",
    )
    p.add_argument("--report-every", type=float, default=5.0, help="seconds between summaries")
    p.add_argument(
        "--passers",
        type=float,
        default=0.5,
        help="people a second showing their 一码通 at the simulated terminals (on the "
        "platform's machine; 0: none)",
    )
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser(
        "device-check",
        help="check a platform's device endpoint against protocol v1",
        description="Connect as a registered device and check the platform's answers against "
        "the device protocol v1; print PASS/FAIL per check; exit 0 only if none fails.",
    )
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--mqtt", default="", help="broker URL, mqtt://host:1883")
    target.add_argument("--http", default="", help="platform URL, http://host:8000")
    p.add_argument("--device", required=True, help="device id")
    p.add_argument("--secret", required=True, help="device secret")
    p.add_argument("--community", default="", help="the device's community code (MQTT)")
    p.set_defaults(func=cmd_device_check)

    p = sub.add_parser("genkey", help="print a new LINLI_DATA_KEY entry")
    p.add_argument("--kid", default="k1")
    p.set_defaults(func=cmd_genkey)

    p = sub.add_parser(
        "import-residents",
        help="import residents from an .xlsx file",
        description="Import residents (住户) from an .xlsx file into a community. Exit status: "
        "0 all rows imported, 1 refused (nothing imported), 2 some rows skipped (--valid-only).",
    )
    p.add_argument("file", help="the .xlsx file (see the console's template)")
    p.add_argument("--community", required=True, help="community code")
    p.add_argument(
        "--valid-only",
        action="store_true",
        help="import the valid rows even if others have problems",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_import_residents)

    p = sub.add_parser("export-residents", help="export a community's residents to .xlsx")
    p.add_argument("--community", required=True, help="community code")
    p.add_argument("-o", "--output", help="file to write (default: <code>-residents.xlsx)")
    p.add_argument(
        "--full", action="store_true", help="full ID numbers and phones (audited; reads back)"
    )
    p.add_argument("--language", default="zh-hans", choices=["zh-hans", "en"])
    p.set_defaults(func=cmd_export_residents)

    p = sub.add_parser("biometrics", help="biometric engines: evaluation, batch enrolment")
    bio = p.add_subparsers(dest="biometrics_command", required=True)
    q = bio.add_parser("evaluate", help="measure the engines on labelled photos and recordings")
    q.add_argument("--faces", help="folder of photos, a sub-folder per person")
    q.add_argument("--voices", help="folder of recordings, a sub-folder per speaker")
    q.add_argument("--out", default="biometrics-report", help="where the report goes")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    q.add_argument("--no-store", action="store_true", help="do not keep it for the console")
    q.set_defaults(func=cmd_biometrics_evaluate)
    q = bio.add_parser(
        "enrol-faces",
        help="enrol residents' faces from a folder of photos",
        description="Enrol faces from photos named <ID number>.jpg or <person id>.jpg (or a "
        "sub-folder of that name with up to 5 photos of the person). People without an "
        "active face consent are skipped unread. Exit status: 0 everyone enrolled, 2 some "
        "photos were not.",
    )
    q.add_argument("--community", required=True, help="community code or id")
    q.add_argument("--dir", required=True, help="folder of photos")
    q.add_argument("--workers", type=int, default=2, help="processes embedding faces (0: none)")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=cmd_biometrics_enrol_faces)

    p = sub.add_parser("rotate-keys", help="re-encrypt sealed values under the active key")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_rotate_keys)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``linli`` command."""
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()

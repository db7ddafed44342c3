#!/usr/bin/env python3
"""Set up and run Linli from a fresh clone, with nothing but Python 3.11+ and the package index.

    python3 dev.py demo     # install into .venv, migrate, seed a demo community, serve it
    python3 dev.py test     # install into .venv (with test tools) and run the whole suite

For maintainers: ``python3 dev.py messages`` refreshes the English catalogue from the
Chinese source strings and compiles it (needs GNU gettext).

Extra arguments go to ``linli demo`` or to pytest. The virtual environment is rebuilt only
when ``pyproject.toml`` or ``requirements/constraints.txt`` change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("LINLI_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"


def _run(*cmd: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)  # noqa: S603


def ensure_venv(extras: str) -> None:
    """Create ``.venv`` and install Linli pinned by the constraints file, once per change."""
    if sys.version_info < (3, 11):  # noqa: UP036  (this file also runs on old Pythons)
        sys.exit("Linli needs Python 3.11 or newer")
    digest = hashlib.sha256()
    for f in (ROOT / "pyproject.toml", CONSTRAINTS):
        digest.update(f.read_bytes())
    digest.update(extras.encode())
    stamp = VENV / f".linli-installed-{digest.hexdigest()[:16]}"
    if stamp.exists():
        return
    if not PY.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    target = f".[{extras}]" if extras else "."
    print(f"installing Linli ({target}) with pinned versions…", flush=True)
    pip = [PY, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if _run(*pip, "-c", CONSTRAINTS, "-e", target) != 0:
        sys.exit("installation failed; see pip's output above")
    # Resemblyzer declares a webrtcvad that compiles from source; the voice extra brings
    # the same module prebuilt (webrtcvad-wheels), so Resemblyzer comes without its own.
    if (
        "voice" in extras.split(",")
        and _run(*pip, "-c", CONSTRAINTS, "--no-deps", "resemblyzer") != 0
    ):
        sys.exit("installation of resemblyzer failed; see pip's output above")
    for old in VENV.glob(".linli-installed-*"):
        old.unlink()
    stamp.touch()


def demo(args: list[str]) -> int:
    """Install and run the embedded demo."""
    ensure_venv("")
    return _run(BIN / "linli", "demo", *args)


def test(args: list[str]) -> int:
    """Install and run the whole test suite: lint, types, SQLite, then PostgreSQL if set."""
    ensure_venv("dev,voice")
    env = dict(os.environ)
    env.pop("LINLI_DATABASE_URL", None)
    steps: list[tuple[str, list[str | Path], dict[str, str]]] = [
        ("ruff check", [BIN / "ruff", "check", "src", "tests", "bench", "dev.py"], env),
        (
            "ruff format",
            [BIN / "ruff", "format", "--check", "src", "tests", "bench", "dev.py"],
            env,
        ),
        ("mypy", [BIN / "mypy"], env),
        (
            "migrations up to date",
            [
                PY,
                "-m",
                "django",
                "makemigrations",
                "--check",
                "--dry-run",
                "--settings=tests.settings",
            ],
            env,
        ),
    ]
    sqlite_env = {k: v for k, v in env.items() if k != "LINLI_TEST_DATABASE_URL"}
    steps.append(("tests on SQLite", [PY, "-m", "pytest", *args], sqlite_env))
    if env.get("LINLI_TEST_DATABASE_URL"):
        # Tests that touch no database already ran in the SQLite pass.
        pg_args = ["-m", "not db_independent", *args]
        steps.append(("tests on PostgreSQL", [PY, "-m", "pytest", *pg_args], env))
    else:
        print("LINLI_TEST_DATABASE_URL is not set: the PostgreSQL pass is skipped", flush=True)
    for title, cmd, step_env in steps:
        print(f"\n=== {title} ===", flush=True)
        code = _run(*cmd, env={**step_env, "PYTHONPATH": str(ROOT)})
        if code != 0:
            print(f"\n=== {title} FAILED (exit {code}) ===", flush=True)
            return code
    return 0


def messages(args: list[str]) -> int:
    """Refresh ``src/linli/locale/en`` from the source strings and compile it."""
    ensure_venv("dev")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    src = ROOT / "src" / "linli"
    make = [PY, "-m", "django", "makemessages", "-l", "en", "--no-obsolete", "--no-location"]
    for cmd in (make, [PY, "-m", "django", "compilemessages", "-l", "en"]):
        code = subprocess.call([str(c) for c in cmd], cwd=src, env=env)  # noqa: S603
        if code:
            return code
    return 0


def main() -> int:
    """Dispatch ``demo``, ``test`` or ``messages``."""
    commands = {"demo": demo, "test": test, "messages": messages}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())

"""Run Linli for a benchmark from the harness process (which never imports Django itself).

One harness run may serve SQLite and then PostgreSQL, so everything Django-side happens
in child processes: the ``linli serve`` server and the steps of :mod:`bench.site.manage`.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.site.manage import MARKER

REPO_DIR = Path(__file__).resolve().parents[2]
SETTINGS = "bench.site.settings"


class StepError(RuntimeError):
    """A Django-side step failed."""


def linli_env(
    home: Path, extra: dict[str, str] | None = None, *, settings: str = SETTINGS
) -> dict[str, str]:
    """Return a clean environment for Linli: fresh throw-away keys, ``home``, ``settings``.

    The caller's own ``LINLI_*`` variables are dropped so a developer's shell (a demo flag,
    a production database URL) cannot leak into a benchmark.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LINLI_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": settings,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO_DIR), env.get("PYTHONPATH", "")) if p
            ),
            "LINLI_HOME": str(home),
            # Generated per run and never stored: the scratch data is thrown away.
            "LINLI_SECRET_KEY": secrets.token_urlsafe(48),
            "LINLI_DATA_KEY": f"bench:{base64.b64encode(secrets.token_bytes(32)).decode()}",
            "LINLI_ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
    )
    env.update(extra or {})
    return env


def serve_argv(port: int, workers: int = 2, server: str = "") -> list[str]:
    """Return the command serving Linli exactly as ``linli serve`` does (its default WSGI
    server unless ``server`` names one)."""
    return [
        sys.executable,
        "-m",
        "linli.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        *(["--server", server] if server else []),
    ]


def run_step(
    args: list[str], env: dict[str, str], log_path: Path, stdin: dict[str, Any] | None = None
) -> Any:
    """Run ``python -m bench.site.manage <args>`` and return its JSON result."""
    with log_path.open("ab") as log:
        done = subprocess.run(
            [sys.executable, "-m", "bench.site.manage", *args],
            env=env,
            cwd=REPO_DIR,
            input=json.dumps(stdin).encode() if stdin is not None else b"",
            stdout=subprocess.PIPE,
            stderr=log,
            timeout=900,
            check=False,
        )
    lines = done.stdout.decode(errors="replace").splitlines()
    found = next((ln for ln in reversed(lines) if ln.startswith(MARKER + " ")), None)
    if done.returncode != 0 or found is None:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        raise StepError(f"step {' '.join(args)} failed ({done.returncode}); log:\n{tail}")
    return json.loads(found[len(MARKER) + 1 :])

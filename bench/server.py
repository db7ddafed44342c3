"""Start a real server process for a benchmark, wait until it answers, stop it cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"  # benchmarks only ever talk to the loopback interface


class ServerError(RuntimeError):
    """The server process exited or never became healthy."""


def free_port() -> int:
    """Return a TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> bytes:
    """GET a loopback URL; return the body of a 2xx answer, raise otherwise."""
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError(f"benchmarks only talk to {HOST}: {url}")
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback http)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        body: bytes = response.read()
        return body


class ServerProcess:
    """A server command run in its own session, logging to a file.

    Use as a context manager: entering starts it and waits for ``health_path``; leaving
    sends SIGTERM to its process group (gunicorn's master and workers) and, if it does not
    stop within ``stop_timeout`` seconds, SIGKILL.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str],
        port: int,
        log_path: Path,
        health_path: str = "/healthz",
        start_timeout: float = 60.0,
        stop_timeout: float = 15.0,
        cwd: Path | None = None,
    ) -> None:
        self.argv = list(argv)
        self.env = env
        self.port = port
        self.log_path = log_path
        self.health_path = health_path
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, path: str) -> str:
        """Return the absolute URL of ``path`` on this server."""
        return f"http://{HOST}:{self.port}{path}"

    def start(self) -> None:
        """Start the process and wait until the health path answers 2xx."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() reaches the workers
            )
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process.poll() is not None:
                raise ServerError(
                    f"server exited with {self.process.returncode}; log:\n{self.log_tail()}"
                )
            try:
                http_get(self.url(self.health_path), timeout=2.0)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(
                    f"no answer from {self.health_path} in {self.start_timeout:g} s; "
                    f"log:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the process group this object started (SIGTERM, then SIGKILL)."""
        process = self.process
        if process is None:
            return
        self.process = None
        if process.poll() is not None:
            return
        group = process.pid  # start_new_session: the group id is the leader's pid
        try:
            os.killpg(group, signal.SIGTERM)
            process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            process.wait(timeout=self.stop_timeout)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 30) -> str:
        """Return the last lines of the server's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""The ``linli`` command, run as a user would: in an empty directory, as a subprocess."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from linli.core.crypto import generate_key

pytestmark = pytest.mark.db_independent

LINLI = [sys.executable, "-m", "linli.cli"]


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINLI_", "DJANGO_"))}
    env.update({"LINLI_HOME": str(home), **extra})
    return env


def prod_env(home: Path) -> dict[str, str]:
    return clean_env(home, LINLI_SECRET_KEY="s" * 50, LINLI_DATA_KEY=generate_key("k1"))


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        LINLI + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_refuses_to_start_without_keys(tmp_path: Path) -> None:
    result = run(["migrate"], clean_env(tmp_path), tmp_path)
    assert result.returncode != 0
    assert "LINLI_SECRET_KEY and LINLI_DATA_KEY" in result.stderr


def test_migrate_createadmin_seed(tmp_path: Path) -> None:
    env = prod_env(tmp_path)
    assert run(["migrate"], env, tmp_path).returncode == 0
    assert (tmp_path / "var" / "linli.sqlite3").exists()
    made = run(["createadmin", "root", "--password", "a-long-pass-77"], env, tmp_path)
    assert made.returncode == 0, made.stderr
    again = run(["createadmin", "root", "--password", "a-long-pass-77"], env, tmp_path)
    assert again.returncode != 0 and "用户名已被使用" in again.stderr
    seeded = run(["seed", "--residents", "25", "--seed", "3"], env, tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    assert "25 residents" in seeded.stdout
    assert "residents" in seeded.stderr  # the progress bar


def test_genkey_prints_a_usable_entry(tmp_path: Path) -> None:
    result = run(["genkey", "--kid", "k2"], clean_env(tmp_path), tmp_path)
    assert re.fullmatch(r"k2:[A-Za-z0-9+/]{43}=\n", result.stdout)


def test_demo_serves_a_seeded_console_from_an_empty_directory(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*LINLI, "demo", "--port", str(port), "--residents", "40"],
        env=clean_env(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output = ""
        deadline = time.monotonic() + 240
        assert proc.stdout is not None
        while "demo-police" not in output and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            output += line
        assert f"http://127.0.0.1:{port}/" in output, output
        assert "admin" in output and "demo-property" in output
        assert (tmp_path / "var" / "linli.sqlite3").exists()
        body = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as r:
                    body = r.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert '<html lang="zh-hans">' in body and "登录" in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            assert b'"ok"' in r.read()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)

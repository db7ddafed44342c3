"""The ``linli`` command, run as a user would: in an empty directory, as a subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
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


def start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """Start a long-running ``linli`` command in its own session, output captured."""
    return subprocess.Popen(
        [*LINLI, *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def login_page(port: int, deadline: float) -> str:
    """The sign-in page, once the server starting on ``port`` answers (by ``deadline``)."""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as r:
                return str(r.read().decode())
        except OSError:
            time.sleep(0.3)
    return ""


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
    proc = start(["demo", "--port", str(port), "--residents", "40"], clean_env(tmp_path), tmp_path)
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
        body = login_page(port, deadline)
        assert '<html lang="zh-hans">' in body and "登录" in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            assert b'"ok"' in r.read()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_serve_answers_pages_and_the_doors_decision(tmp_path: Path, server: str) -> None:
    """``linli serve`` with each WSGI server: a page through Django, the door's decision
    through its direct endpoint (a bad token: 401 with the device API's error), a clean stop."""
    env = prod_env(tmp_path)
    assert run(["migrate"], env, tmp_path).returncode == 0
    port = free_port()
    args = ["serve", "--port", str(port), "--workers", "1", "--server", server]
    proc = start(args, {**env, "LINLI_ALLOWED_HOSTS": "127.0.0.1"}, tmp_path)
    try:
        assert "登录" in login_page(port, time.monotonic() + 60)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/device/v1/access/decide",
            data=b'{"method": "card", "value": "X"}',
            headers={"Authorization": "Bearer nobody:wrong", "X-Request-ID": "door-1"},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)  # noqa: S310 (loopback http)
        assert refused.value.code == 401
        assert refused.value.headers["X-Request-ID"] == "door-1"
        assert json.loads(refused.value.read())["code"] == "bad_credentials"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert "Traceback" not in output, output


def test_import_and_export_residents(tmp_path: Path) -> None:
    import openpyxl

    env = prod_env(tmp_path)
    assert run(["migrate"], env, tmp_path).returncode == 0
    seeded = run(["seed", "--residents", "20", "--seed", "4", "--code", "c4", "-q"], env, tmp_path)
    assert seeded.returncode == 0, seeded.stderr

    masked = run(["export-residents", "--community", "c4", "-o", "masked.xlsx"], env, tmp_path)
    assert masked.returncode == 0, masked.stderr
    sheet = openpyxl.load_workbook(tmp_path / "masked.xlsx").worksheets[0]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0][:3] == ["姓名", "证件类型", "证件号码"] and "*" in rows[1][2]

    full = run(
        ["export-residents", "--community", "c4", "--full", "-o", "full.xlsx"], env, tmp_path
    )
    assert full.returncode == 0 and "full ID numbers" in full.stdout
    again = run(["import-residents", "full.xlsx", "--community", "c4"], env, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (
        f"{len(rows) - 1} rows read: 0 imported or changed, {len(rows) - 1} unchanged"
        in again.stdout
    )

    book = openpyxl.load_workbook(tmp_path / "full.xlsx")
    data = book.worksheets[0]
    first = [c.value for c in next(data.iter_rows(min_row=2, max_row=2))]
    bad_id = "110105198001010010"  # wrong check digit
    data.append([first[0], first[1], bad_id, None, *first[4:]])
    book.save(tmp_path / "bad.xlsx")
    bad_row = len(rows) + 1
    refused = run(["import-residents", "bad.xlsx", "--community", "c4"], env, tmp_path)
    assert refused.returncode == 1
    assert f"row {bad_row}\t证件号码\t{bad_id}\t身份证号码校验位错误。" in refused.stdout
    assert "nothing was imported" in refused.stdout

    partial = run(
        ["import-residents", "bad.xlsx", "--community", "c4", "--valid-only"], env, tmp_path
    )
    assert partial.returncode == 2, partial.stderr
    assert "residents" in partial.stderr and f"{len(rows) - 1}/{len(rows) - 1}" in partial.stderr

    (tmp_path / "people.csv").write_text("姓名,证件号码\n")
    wrong = run(["import-residents", "people.csv", "--community", "c4"], env, tmp_path)
    assert wrong.returncode == 1 and "不是 Excel 工作簿" in wrong.stderr
    unknown = run(["import-residents", "full.xlsx", "--community", "nope"], env, tmp_path)
    assert unknown.returncode == 1 and "no community" in unknown.stderr

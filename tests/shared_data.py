"""The shared test data (real face photos and speech, see its ``SOURCES.md``).

It lives outside the project, in ``LINLI_TEST_DATA`` (default: ``shared/data`` beside the
checkout). Tests that need it are skipped with the reason when it is absent, except in
CI (``CI=true``), where its absence fails them: there it must be tested.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Where the shared data is expected."""
    configured = os.environ.get("LINLI_TEST_DATA", "")
    return Path(configured) if configured else ROOT.parent / "shared" / "data"


def shared(*parts: str) -> Path:
    """The path ``parts`` under the shared data; skip (or fail in CI) when it is absent."""
    path = data_dir().joinpath(*parts)
    if not path.exists():
        reason = f"the shared test data is not here: {path} (set LINLI_TEST_DATA)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path

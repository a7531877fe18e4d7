"""Debian's Chromium driven by Playwright, for the page and console tests (no browser download here)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .processes import ROOT

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "test-artifacts"))
# Without the background-networking flags Chromium keeps trying hosts the closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic",
]  # fmt: skip


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError(
            "Chromium is needed for the page tests: `apt-get install chromium` (make test does it as root)"
        )
    return path

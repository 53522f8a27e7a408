"""A real browser for tests: headless Chromium (Debian's `chromium`, linked by `make tools`)
renders a page, scripts and all, and gives back the DOM as rendered and a screenshot.

    dom, screenshot = render(url, RESULTS / "vmui.png")

Each render starts a fresh Chromium with its own empty profile, twice (once for --dump-dom,
once for --screenshot), with the flags that keep it off the network: it talks only to `url`.
--virtual-time-budget lets the page's scripts run and fetch (on loopback) before the DOM is
taken, without a fixed sleep.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

CHROMIUM = REPO_ROOT / ".tools" / "bin" / "chromium"
RESULTS = REPO_ROOT / "results" / "browser"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
WINDOW = (1280, 900)
VIRTUAL_TIME_BUDGET_MS = 15_000
TIMEOUT_SECONDS = 90.0


def chromium() -> Path:
    """The Chromium `make tools` linked; the test fails saying how to get one if it did not."""
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    if found:
        return Path(found)
    pytest.fail(
        f"{CHROMIUM} is missing: run `make tools` (as root on Debian it installs the chromium "
        "package; elsewhere install Chromium and link it there)",
        pytrace=False,
    )


def render(url: str, screenshot: Path, budget_ms: int = VIRTUAL_TIME_BUDGET_MS) -> tuple[str, Path]:
    """The DOM of `url` once its scripts ran (as HTML text), and a PNG of it at `screenshot`."""
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    # The same window for both, so a page that lays itself out by size (graphs) renders alike.
    window = f"--window-size={WINDOW[0]},{WINDOW[1]}"
    dom = _chromium(url, budget_ms, "--dump-dom", window)
    _chromium(url, budget_ms, f"--screenshot={screenshot}", window)
    if not screenshot.is_file():
        pytest.fail(f"chromium wrote no screenshot of {url} at {screenshot}", pytrace=False)
    return dom, screenshot


def _chromium(url: str, budget_ms: int, *args: str) -> str:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [
            str(chromium()),
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            *args,
            url,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    if done.returncode != 0:
        pytest.fail(
            f"chromium exited with {done.returncode} on {url}:\n{done.stderr[-2000:]}",
            pytrace=False,
        )
    return done.stdout

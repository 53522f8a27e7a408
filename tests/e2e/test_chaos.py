"""make chaos, short and seeded: every check holds whatever it broke, for more than one seed."""

from __future__ import annotations

import sys

import pytest

from tests.e2e.commands import run

pytestmark = pytest.mark.e2e

CHAOS_TIMEOUT_SECONDS = 180.0  # start, 15 s of chaos, settling, stopping


@pytest.mark.parametrize("seed", [1, 2])
def test_a_short_chaos_run_keeps_every_invariant(seed: int) -> None:
    ran = run(
        [
            sys.executable,
            "-m",
            "tooling.chaos",
            "--seed",
            str(seed),
            "--duration",
            "15",
            "--actions",
            "5",
        ],
        timeout=CHAOS_TIMEOUT_SECONDS,
    )

    assert ran.returncode == 0, ran.output
    assert "BROKEN" not in ran.output
    assert ran.output.count(" held") == 7, ran.output

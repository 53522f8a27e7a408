"""make chaos CLUSTER=1, short and seeded: under load through both gateway replicas, kill -9 of
random service replicas and of the NATS stream's leader loses no accepted order and applies
nothing twice; most calls made in the seconds after each kill still succeed."""

from __future__ import annotations

import re
import sys

import pytest

from tests.e2e.commands import run

pytestmark = pytest.mark.e2e

CHAOS_TIMEOUT_SECONDS = 360.0  # a cluster's start, 20 s of load and kills, settling, stopping
CHECKS = 7  # tooling/chaos/checks.py's final_checks
FAILED = re.compile(r"failed during kills: (\d+) of (\d+)")


@pytest.mark.parametrize("seed", [1, 2])
def test_kills_of_replicas_and_the_stream_leader_keep_every_invariant(seed: int) -> None:
    flags = ["--cluster", "--seed", str(seed), "--duration", "20", "--actions", "4"]
    ran = run([sys.executable, "-m", "tooling.chaos", *flags], timeout=CHAOS_TIMEOUT_SECONDS)

    assert ran.returncode == 0, ran.output
    assert "BROKEN" not in ran.output
    assert ran.output.count(" held") == CHECKS, ran.output
    assert re.search(r"kill -9 +nats-\d .*leader", ran.output), ran.output
    assert re.search(r"kill -9 +(gateway|orders|accounts|fees|market)-\d", ran.output), ran.output
    found = FAILED.search(ran.output)
    assert found, ran.output
    failed, made = int(found.group(1)), int(found.group(2))
    assert made > 0, ran.output
    assert failed / made < 0.5, ran.output

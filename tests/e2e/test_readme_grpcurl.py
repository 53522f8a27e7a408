"""Every grpcurl command in README.md and docs/*.md, run as written against a fresh mesh, prints
what it shows.

The commands are taken from the pages themselves: each ```sh block that starts with `grpcurl`,
`for port in` or `for attempt in`, with the ```text block after it as the expected output. They
run in bash, README.md's first, then each docs page's by the page's name, each page's in its own
order (later calls read what earlier ones did), from the repository with .tools/bin on PATH (what
the pages' `export PATH` line does).

Two changes are made to a command: the default ports 50051 ... 50055 become the ports of the same
services in the test's mesh, since other runs on the machine may hold the defaults, and the
certificates in data/certs/ become those of the test's mesh. Everything else, the 127.0.0.1 host
included, is run as written.

Output (stdout and stderr, as a terminal shows them) is compared after masking, in the pages and
in the real output alike, what differs from run to run: timestamps, amounts of money that follow
the moving prices (a mask matches only a non-zero amount, so the amount must be there), and the
trace id (which must be 32 hex digits). Reads of what the events settle (GetOrder, GetPortfolio)
are run again, as a reader would a moment later, until they match or SETTLE_SECONDS pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e import readme
from tests.e2e.commands import Ran, python, shell
from tests.e2e.launcher import LaunchedMesh, launched_mesh
from tests.e2e.readme import Example
from tests.support import REPO_ROOT
from tests.support.polling import grpcurl_retry_delay, poll

pytestmark = pytest.mark.e2e

SETTLE_SECONDS = 10.0
SETTLING_READS = ("GatewayService/GetOrder", "GatewayService/GetPortfolio")
SEED_CASH_MINOR_UNITS = 1_000_000  # alice starts with 10,000.00 USD
ALL_SERVICES = "5 services (accounts, fees, gateway, market, orders)"


@dataclass(frozen=True)
class Outcome:
    example: Example
    command: str  # as run: the page's, on the test mesh's ports
    ran: Ran


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return readme.all_examples()


@pytest.fixture(scope="module")
def fresh_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedMesh]:
    """The pages' outputs assume a mesh nobody used yet (alice still holds 100 AAPL)."""
    with launched_mesh(tmp_path_factory.mktemp("readme")) as mesh:
        yield mesh


@pytest.fixture(scope="module")
def outcomes(examples: list[Example], fresh_mesh: LaunchedMesh) -> list[Outcome]:
    addresses = {name: fresh_mesh.address(name) for name in fresh_mesh.services}
    certs = fresh_mesh.data_dir / "certs"
    return [run_example(example, addresses, certs) for example in examples]


def run_example(example: Example, addresses: dict[str, str], certs: Path) -> Outcome:
    command = readme.with_certs(readme.on_ports(example.command, addresses), certs)
    if not command.endswith(SETTLING_READS):
        return Outcome(example, command, shell(command))
    ran = poll(
        lambda: shell(command),
        lambda ran: matches(example, ran),
        SETTLE_SECONDS,
        f"{example} settled",
        0.2,
        backoff=lambda ran: grpcurl_retry_delay(ran.output),
        or_last=True,
    )
    return Outcome(example, command, ran)


def matches(example: Example, ran: Ran) -> bool:
    return readme.masked(ran.output.rstrip("\n")) == readme.masked(example.output)


def test_the_readme_has_a_grpcurl_call_of_its_own(examples: list[Example]) -> None:
    assert any(example.page == "README.md" for example in examples), "README.md has no grpcurl"


def test_the_pages_walk_through_listing_health_and_every_gateway_call(
    examples: list[Example],
) -> None:
    commands = [example.command for example in examples]
    every = "\n".join(commands)

    for call in (
        " list",
        " describe simplebank.gateway.v1.GatewayService.PlaceSellOrder",
        "grpc.health.v1.Health/Check",
        "GatewayService/PlaceSellOrder",
        "GatewayService/GetOrder",
        "GatewayService/GetPortfolio",
        "grpcurl -v ",
    ):
        assert call in every, f"no command in README.md or docs/ contains {call!r}"
    assert any("GetPortfolio" in c and "authorization" not in c for c in commands), "no token"


def test_every_grpcurl_command_prints_the_output_its_page_shows(
    outcomes: list[Outcome],
) -> None:
    differ = [
        f"{outcome.example}\nran: {outcome.command}\n"
        f"--- {outcome.example.page} shows (masked)\n{readme.masked(outcome.example.output)}\n"
        f"--- got (masked, exit code {outcome.ran.returncode})\n{readme.masked(outcome.ran.output)}"
        for outcome in outcomes
        if not matches(outcome.example, outcome.ran)
    ]

    assert not differ, "\n\n".join(differ)


def test_a_command_fails_exactly_when_its_page_shows_an_error(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        shows_error = outcome.example.output.startswith("ERROR:")
        assert (outcome.ran.returncode != 0) == shows_error, (
            f"{outcome.example}: exit code {outcome.ran.returncode}"
        )


def test_alice_cash_grew_by_the_proceeds_less_the_fee(outcomes: list[Outcome]) -> None:
    """What docs/grpcurl.md says under GetPortfolio, true of its own numbers and the real ones."""
    order_read = next(o for o in outcomes if o.command.endswith("GatewayService/GetOrder"))
    portfolio_read = next(
        o for o in outcomes if "GetPortfolio" in o.command and "alice-token" in o.command
    )

    for order_text, portfolio_text in (
        (order_read.example.output, portfolio_read.example.output),
        (order_read.ran.output, portfolio_read.ran.output),
    ):
        order = json.loads(order_text)["order"]
        cash = int(json.loads(portfolio_text)["cash"]["minorUnits"])
        proceeds = int(order["proceeds"]["minorUnits"])
        fee = int(order["fee"]["minorUnits"])
        assert cash == SEED_CASH_MINOR_UNITS + proceeds - fee


def test_make_trace_prints_the_pages_order_across_all_five_services_with_the_error(
    outcomes: list[Outcome], fresh_mesh: LaunchedMesh
) -> None:
    """`make trace ID=<id>` with the id the page's `grpcurl -v` printed, on the test's Jaeger."""
    shown = next(o for o in outcomes if o.command.startswith("grpcurl -v "))
    page = (REPO_ROOT / shown.example.page).read_text()
    assert readme.trace_id_shown_for_make_trace(page) in shown.example.output
    match = re.fullmatch(r"x-trace-id: ([0-9a-f]{32})\n?", shown.ran.output)
    assert match, shown.ran.output
    trace_id = match.group(1)

    printed = python(
        "tooling/cli/trace.py",
        trace_id,
        *("--jaeger", fresh_mesh.jaeger_url, "--wait", "15", "--services", "5"),
    )

    assert printed.returncode == 0, printed.output
    assert printed.output.startswith(f"trace {trace_id}: "), printed.output
    assert ALL_SERVICES in printed.output.splitlines()[0], printed.output
    failed = [line for line in printed.output.splitlines() if line.endswith("✗ ERROR")]
    assert failed, printed.output
    assert all("market  execute order" in line for line in failed), printed.output

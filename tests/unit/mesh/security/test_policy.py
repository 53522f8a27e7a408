"""The authorization policy: exact methods, whole services, default deny, and a file that fails
loudly; `make lint`'s check names identities and methods that do not exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mesh.security.policy import DEFAULT_POLICY, Policy, PolicyError
from tooling.cli.check_authz import known_methods, problems

RESERVE = "/simplebank.accounts.v1.AccountService/ReserveHoldings"
PORTFOLIO = "/simplebank.accounts.v1.AccountService/GetPortfolio"
PLACE = "/simplebank.orders.v1.OrderService/PlaceOrder"
HEALTH = "/grpc.health.v1.Health/Check"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load(DEFAULT_POLICY)


def write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "authz.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("caller", "method"),
    [
        ("gateway", PLACE),
        ("gateway", PORTFOLIO),
        ("orders", RESERVE),
        ("operator", PORTFOLIO),
        ("operator", HEALTH),
        ("probe", HEALTH),
    ],
)
def test_the_call_graph_of_the_flow_is_allowed(policy: Policy, caller: str, method: str) -> None:
    assert policy.allows(caller, method)


@pytest.mark.parametrize(
    ("caller", "method"),
    [
        ("gateway", RESERVE),  # only orders reserves shares
        ("operator", RESERVE),  # people read, they do not write
        ("operator", PLACE),
        ("probe", PORTFOLIO),  # the probe checks health and nothing else
        ("market", PORTFOLIO),  # a service nobody listed
        ("anonymous", HEALTH),
    ],
)
def test_anything_not_listed_is_denied(policy: Policy, caller: str, method: str) -> None:
    assert not policy.allows(caller, method)


def test_a_missing_policy_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"

    with pytest.raises(PolicyError, match=str(missing)):
        Policy.load(missing)


@pytest.mark.parametrize("document", [[], {"allow": {"gateway": "orders"}}, {"allow": {"x": [1]}}])
def test_a_policy_of_the_wrong_shape_is_refused(tmp_path: Path, document: object) -> None:
    with pytest.raises(PolicyError, match="must hold"):
        Policy.load(write(tmp_path, document))


def test_the_policy_shipped_names_only_identities_and_methods_that_exist(policy: Policy) -> None:
    assert list(problems(policy, known_methods())) == []


def test_lint_names_an_unknown_identity_service_and_method(tmp_path: Path) -> None:
    typos = Policy.load(
        write(
            tmp_path,
            {
                "allow": {
                    "gatway": ["grpc.health.v1.Health/*"],
                    "orders": [
                        "simplebank.accounts.v1.AccountsService/*",
                        "simplebank.accounts.v1.AccountService/ReserveHolding",
                    ],
                }
            },
        )
    )

    assert list(problems(typos, known_methods())) == [
        "unknown identity 'gatway' "
        "(known: gateway, orders, accounts, fees, market, operator, probe)",
        "orders: simplebank.accounts.v1.AccountService has no method 'ReserveHolding'",
        "orders: unknown service 'simplebank.accounts.v1.AccountsService' in "
        "'simplebank.accounts.v1.AccountsService/*'",
    ]


def test_the_gateway_is_granted_each_method_it_calls_by_name_never_a_whole_service() -> None:
    granted = Policy.load(DEFAULT_POLICY).allow["gateway"]

    assert not [pattern for pattern in granted if pattern.endswith("/*")]
    assert {
        "simplebank.orders.v1.OrderService/PlaceOrder",
        "simplebank.orders.v1.OrderService/GetOrder",
        "simplebank.orders.v1.OrderService/ListOrders",
    } <= granted


def test_only_the_operator_may_call_the_fault_service() -> None:
    policy = Policy.load(DEFAULT_POLICY)

    assert policy.callers_of("/simplebank.ops.v1.FaultService/SetFault") == ["operator"]

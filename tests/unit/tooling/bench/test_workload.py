"""The bench's customers are ones the accounts service and the gateway accept, and ghz's call
templates send each order with the token of the account it sells from."""

from __future__ import annotations

import json
import re
from pathlib import Path

from services.accounts.seed import load_seed
from services.gateway.config import checked_tokens
from services.gateway.domain import authenticate, parse_tokens
from tooling.bench.workload import HOT, SHARES, SYMBOL, spread

# The two call-template forms the workload writes: {{mod .RequestNumber N}} and
# {{mod (add .RequestNumber K) N}}, rendered as ghz (Go text/template with sprig) does.
TEMPLATE = re.compile(r"\{\{mod (?:\.RequestNumber|\(add \.RequestNumber (\d+)\)) (\d+)\}\}")


def render(text: str, request_number: int, worker: str = "g0c0") -> str:
    def mod(match: re.Match[str]) -> str:
        offset, accounts = int(match.group(1) or 0), int(match.group(2))
        return str((request_number + offset) % accounts)

    text = TEMPLATE.sub(mod, text)
    text = text.replace("{{.RequestNumber}}", str(request_number))
    return text.replace("{{.WorkerID}}", worker)


def test_the_seed_file_gives_every_account_its_own_customer_and_enough_shares(
    tmp_path: Path,
) -> None:
    seed = tmp_path / "accounts.json"
    seed.write_text(spread(1000).seed_json())

    accounts = load_seed(str(seed))

    assert len(accounts) == 1000
    assert len({a.account_id for a in accounts}) == len({a.customer_id for a in accounts}) == 1000
    assert all(a.positions[SYMBOL].quantity == SHARES for a in accounts)


def test_the_token_list_is_one_the_gateway_takes_outside_the_demo() -> None:
    workload = spread(1000)

    tokens = checked_tokens(parse_tokens(workload.tokens()))

    assert len(tokens) == 1000
    assert tokens[workload.token(7)].account_ids == {workload.account(7)}


def test_the_token_list_fits_in_one_environment_variable() -> None:
    # Linux refuses a single argument or variable over 128 KiB (MAX_ARG_STRLEN).
    assert len(spread(1000).tokens()) < 128 * 1024


def test_each_call_sells_from_the_account_its_token_stands_for() -> None:
    workload = spread(1000)
    tokens = parse_tokens(workload.tokens())
    for offset in (0, 500):
        data, metadata = json.dumps(workload.data("sat", offset)), workload.metadata(offset)
        for number in (0, 1, 499, 999, 1000, 1731):
            request = json.loads(render(data, number))
            header = render(metadata["authorization"], number)

            customer = authenticate(tokens, header)

            assert request["account_id"] in customer.account_ids
            assert request["account_id"] == workload.account((number + offset) % 1000)


def test_orders_walk_every_account_in_turn() -> None:
    workload = spread(50)
    data = json.dumps(workload.data("sat"))

    sold_from = [json.loads(render(data, n))["account_id"] for n in range(100)]

    assert sold_from[:50] == [workload.account(i) for i in range(50)]
    assert sold_from[50:] == sold_from[:50]


def test_every_call_has_a_request_id_of_its_own() -> None:
    data = json.dumps(spread(50).data("sat2"))

    ids = {json.loads(render(data, n, worker=f"g{n % 4}c0"))["request_id"] for n in range(200)}

    assert len(ids) == 200
    assert "sat2-g1c0-5" in ids


def test_the_hot_account_sells_every_order_from_one_position() -> None:
    tokens = parse_tokens(HOT.tokens())
    data = json.dumps(HOT.data("sat"))

    accounts = {json.loads(render(data, n))["account_id"] for n in range(20)}

    assert accounts == {HOT.account(0)}
    assert authenticate(tokens, render(HOT.metadata()["authorization"], 3)).account_ids == accounts
    assert "{{" not in HOT.metadata()["authorization"]


def test_the_metadata_template_is_json_without_quotes_inside_its_actions() -> None:
    # ghz parses --metadata as JSON before it renders it: a quote in an action breaks it.
    value = spread(1000).metadata(500)["authorization"]

    assert '"' not in value
    assert json.loads(json.dumps({"authorization": value}))["authorization"] == value

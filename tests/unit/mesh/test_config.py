"""Configuration from the environment fails fast with a message a person can act on."""

from __future__ import annotations

import pytest

from mesh.config import ConfigError, Env, ServerConfig, StoreConfig


def error_of(read: object) -> str:
    assert callable(read)
    with pytest.raises(ConfigError) as caught:
        read()
    return str(caught.value)


@pytest.mark.parametrize("raw", ["ten", "1.5", "5s"])
def test_a_bad_whole_number_names_the_variable_the_value_and_an_example(raw: str) -> None:
    env = Env({"FEES_FLAT_MINOR_UNITS": raw})

    message = error_of(lambda: env.integer("FEES_FLAT_MINOR_UNITS", 100))

    assert message == f"FEES_FLAT_MINOR_UNITS={raw!r}: expected a whole number, e.g. 100"


def test_a_number_below_its_minimum_says_the_minimum() -> None:
    env = Env({"SHUTDOWN_GRACE_SECONDS": "-1"})

    message = error_of(lambda: env.number("SHUTDOWN_GRACE_SECONDS", 5.0))

    assert message == "SHUTDOWN_GRACE_SECONDS=-1.0: must be at least 0.0"


def test_a_bad_number_names_the_variable_and_an_example() -> None:
    env = Env({"GATEWAY_DEADLINE_SECONDS": "two"})

    message = error_of(lambda: env.number("GATEWAY_DEADLINE_SECONDS", 2.0))

    assert message == "GATEWAY_DEADLINE_SECONDS='two': expected a number, e.g. 2.0"


@pytest.mark.parametrize(
    "raw", ["localhost", ":50054", "127.0.0.1:", "127.0.0.1:port", "127.0.0.1:65536"]
)
def test_a_bad_address_names_the_variable_and_shows_host_port(raw: str) -> None:
    env = Env({"FEES_ADDR": raw})

    message = error_of(lambda: env.service_addr("fees"))

    assert message == f"FEES_ADDR={raw!r}: expected host:port, e.g. 127.0.0.1:50054"


def test_a_bad_log_level_lists_the_levels_that_work() -> None:
    env = Env({"LOG_LEVEL": "verbose"})

    message = error_of(lambda: ServerConfig.from_env("fees", env))

    assert message == "LOG_LEVEL='VERBOSE': expected DEBUG, INFO, WARNING or ERROR"


def test_a_log_level_in_lower_case_is_accepted() -> None:
    assert ServerConfig.from_env("fees", Env({"LOG_LEVEL": "debug"})).log_level == "DEBUG"


def test_a_bad_nats_url_shows_the_expected_form() -> None:
    env = Env({"NATS_URL": "127.0.0.1:4222"})

    message = error_of(lambda: StoreConfig.from_env("fees", env))

    assert message == ("NATS_URL='127.0.0.1:4222': expected nats://host:port[,nats://host:port...]")


def test_listen_addr_falls_back_to_the_address_the_service_is_called_at() -> None:
    assert Env({"FEES_ADDR": "127.0.0.1:6054"}).listen_addr("fees") == "127.0.0.1:6054"


def test_listen_addr_prefers_its_own_variable() -> None:
    env = Env({"FEES_ADDR": "fees:50054", "FEES_LISTEN_ADDR": "0.0.0.0:50054"})

    assert env.listen_addr("fees") == "0.0.0.0:50054"


def test_listen_addr_defaults_to_the_contract_port_on_loopback() -> None:
    assert Env({}).listen_addr("fees") == "127.0.0.1:50054"


def test_without_a_health_address_a_service_serves_no_health_port() -> None:
    assert ServerConfig.from_env("fees", Env({})).health_addr == ""


def test_a_health_address_is_read_from_the_service_s_own_variable() -> None:
    env = Env({"FEES_HEALTH_ADDR": "0.0.0.0:9474"})

    assert ServerConfig.from_env("fees", env).health_addr == "0.0.0.0:9474"


def test_a_bad_health_address_names_the_variable_and_an_example() -> None:
    message = error_of(lambda: Env({"FEES_HEALTH_ADDR": "9474"}).health_addr("fees"))

    assert message == "FEES_HEALTH_ADDR='9474': expected host:port, e.g. 127.0.0.1:9474"


def test_a_bad_fallback_address_is_reported_under_its_own_name() -> None:
    message = error_of(lambda: Env({"ORDERS_ADDR": "orders"}).listen_addr("orders"))

    assert message.startswith("ORDERS_ADDR='orders':")


def test_a_blank_variable_means_its_default() -> None:
    config = ServerConfig.from_env("fees", Env({"LOG_LEVEL": "  ", "SHUTDOWN_GRACE_SECONDS": ""}))

    assert (config.log_level, config.shutdown_grace) == ("INFO", 5.0)


@pytest.mark.parametrize(
    ("raw", "host"),
    [
        ("mysql://u:secret@db.example:5432/orders", "db.example"),
        ("postgresql://u:secret@db.example:port/orders", "db.example"),
        ("postgresql://u:secret@db.example:5432", "db.example"),
        ("postgresql:///orders", "no host"),
    ],
)
def test_a_malformed_database_url_names_the_variable_and_host_but_not_the_password(
    raw: str, host: str
) -> None:
    message = error_of(lambda: Env({"DATABASE_URL": raw}).database_url())

    assert message.startswith(f"DATABASE_URL (host {host}): expected postgresql://")
    assert "secret" not in message


def test_without_a_database_url_a_service_keeps_its_state_in_its_sqlite_file() -> None:
    config = StoreConfig.from_env("orders", Env({"DATA_DIR": "/data"}))

    assert str(config.database) == "/data/orders.sqlite3"


def test_a_database_url_puts_the_state_in_postgresql() -> None:
    url = "postgresql://orders:pw@127.0.0.1:5432/orders"

    assert StoreConfig.from_env("orders", Env({"DATABASE_URL": url})).database == url


def test_nats_url_may_list_every_node_of_a_cluster() -> None:
    env = Env({"NATS_URL": "nats://127.0.0.1:4222, nats://127.0.0.1:4223,nats://127.0.0.1:4224"})

    assert env.nats_url() == "nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224"


def test_a_nats_url_list_mixing_tls_and_plaintext_is_refused() -> None:
    env = Env({"NATS_URL": "tls://127.0.0.1:4222,nats://127.0.0.1:4223"})

    message = error_of(env.nats_url)

    assert "every server in the list needs the same scheme" in message


def test_a_service_addr_may_list_its_replicas() -> None:
    env = Env({"FEES_ADDR": "127.0.0.1:6054, 127.0.0.1:6154", "FEES_LISTEN_ADDR": "127.0.0.1:6154"})

    assert env.service_addr("fees") == "127.0.0.1:6054,127.0.0.1:6154"
    assert env.listen_addr("fees") == "127.0.0.1:6154"


def test_a_replica_list_needs_the_replica_s_own_listen_addr() -> None:
    env = Env({"FEES_ADDR": "127.0.0.1:6054,127.0.0.1:6154"})

    assert error_of(lambda: env.listen_addr("fees")) == (
        "FEES_ADDR lists replicas: set FEES_LISTEN_ADDR too"
    )

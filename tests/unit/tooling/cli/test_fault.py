"""`make fault`: always as the operator over mTLS; the gateway, with no FaultService, says so."""

from __future__ import annotations

import pytest

from tooling.cli import fault


def test_make_fault_on_the_gateway_says_it_has_no_fault_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SERVICE", "gateway")

    with pytest.raises(SystemExit, match="the gateway serves no FaultService"):
        fault.main()


def test_without_mesh_tls_make_fault_refuses_rather_than_call_in_plaintext(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MESH_TLS", "off")
    monkeypatch.setenv("MESH_TLS_OFF_FOR_BENCHMARK", "yes")
    monkeypatch.setenv("SERVICE", "accounts")

    with pytest.raises(SystemExit, match="fault injection needs MESH_TLS=on"):
        fault.main()

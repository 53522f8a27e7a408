"""Which connections a set of NetworkPolicies allows between pod templates, worked out on paper.

A connection from pod A to port P of pod B is allowed when A's policies allow it out (or none
selects A for egress) and B's policies allow it in (or none selects B for ingress), the way a
network plugin that enforces NetworkPolicy decides it.
"""

from __future__ import annotations

from typing import Any

Object = dict[str, Any]
OUTSIDE = "<anywhere>"  # a rule with no peers, or an ipBlock: not a pod of the namespace


def selects(selector: Object, labels: dict[str, str]) -> bool:
    matched = all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
    for expression in selector.get("matchExpressions", []):
        if expression["operator"] != "In":
            raise ValueError(f"unsupported selector operator {expression['operator']}")
        matched = matched and labels.get(expression["key"]) in expression["values"]
    return matched


def _peer_matches(peer: Object, labels: dict[str, str] | None) -> bool:
    """`labels` None stands for anything outside the namespace's pods."""
    if "podSelector" in peer and "namespaceSelector" not in peer:
        return labels is not None and selects(peer["podSelector"], labels)
    return labels is None  # ipBlock or another namespace


def _allows(rules: list[Object], key: str, peer: dict[str, str] | None, port: int) -> bool:
    for rule in rules:
        peers = rule.get(key)
        ports = rule.get("ports")
        peer_ok = peers is None or any(_peer_matches(p, peer) for p in peers)
        port_ok = ports is None or any(p.get("port") == port for p in ports)
        if peer_ok and port_ok:
            return True
    return False


def _direction_allows(
    policies: list[Object],
    labels: dict[str, str],
    direction: str,
    peer: dict[str, str] | None,
    port: int,
) -> bool:
    kind = direction.capitalize()
    key = "from" if direction == "ingress" else "to"
    relevant = [
        p
        for p in policies
        if kind in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], labels)
    ]
    if not relevant:
        return True
    return any(_allows(p["spec"].get(direction, []), key, peer, port) for p in relevant)


def allowed_edges(pods: dict[str, Object], policies: list[Object]) -> set[tuple[str, str, int]]:
    """(source, destination, port) for every declared container port a connection may reach.

    `pods` maps a name to a pod template's labels and ports: {"labels": {...}, "ports": [...]}.
    The source OUTSIDE stands for anything that is not a pod of the namespace.
    """
    edges = set()
    for destination, pod in pods.items():
        for port in pod["ports"]:
            sources: dict[str, dict[str, str] | None] = {OUTSIDE: None}
            sources.update({name: other["labels"] for name, other in pods.items()})
            for source, labels in sources.items():
                inbound = _direction_allows(policies, pod["labels"], "ingress", labels, port)
                outbound = labels is None or _direction_allows(
                    policies, labels, "egress", pod["labels"], port
                )
                if inbound and outbound:
                    edges.add((source, destination, port))
    return edges

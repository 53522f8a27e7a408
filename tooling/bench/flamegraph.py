"""py-spy's collapsed stacks: a flame graph as a small SVG, and where each process's time went."""

from __future__ import annotations

import html
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

WIDTH = 1200
ROW = 16
MIN_WIDTH = 0.5  # px: narrower frames are left out, which keeps the file small
# Where a sampled frame's file lives, for the per-package summary (first match wins).
PACKAGES = (
    ("opentelemetry", "opentelemetry"),
    ("grpc", "grpc"),
    ("nats", "nats-py"),
    ("google/protobuf", "protobuf"),
    ("sqlite3", "sqlite3"),
    ("psycopg", "psycopg"),
    ("prometheus_client", "prometheus_client"),
    ("asyncio", "asyncio"),
    ("logging", "logging"),
    ("json", "json"),
    ("/mesh/", "mesh"),
    ("/tracing/", "tracing"),
    ("/services/", "services"),
    ("/generated/", "generated"),
)
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


@dataclass
class Node:
    name: str
    samples: int = 0
    children: dict[str, Node] = field(default_factory=dict)


def read(path: Path) -> Counter[tuple[str, ...]]:
    """`frame;frame;... count` lines (py-spy --format raw), root first."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(stack.split(";"))] += int(count)
    return stacks


def package(frame: str) -> str:
    match = FRAME.match(frame)
    where = match["file"] if match else frame
    return next((name for needle, name in PACKAGES if needle in where), "other")


def self_time(stacks: Counter[tuple[str, ...]]) -> tuple[Counter[str], Counter[str]]:
    """Samples whose innermost frame is each function, and each package."""
    functions: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    for stack, count in stacks.items():
        leaf = stack[-1]
        functions[leaf] += count
        packages[package(leaf)] += count
    return functions, packages


def inclusive(stacks: Counter[tuple[str, ...]], needle: str) -> int:
    """Samples with a frame whose text holds `needle` anywhere on the stack."""
    return sum(count for stack, count in stacks.items() if any(needle in f for f in stack))


def svg(stacks: Counter[tuple[str, ...]], title: str) -> str:
    root = Node("all")
    for stack, count in stacks.items():
        node = root
        node.samples += count
        for frame in stack:
            node = node.children.setdefault(frame, Node(frame))
            node.samples += count
    rects: list[str] = []
    depth = _draw(root, 0.0, 0, WIDTH / max(root.samples, 1), root.samples, rects)
    height = (depth + 2) * ROW
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="monospace" font-size="11">'
        f'<text x="4" y="12">{html.escape(title)}</text>{"".join(rects)}</svg>\n'
    )


def _draw(node: Node, x: float, depth: int, scale: float, total: int, out: list[str]) -> int:
    width = node.samples * scale
    y = (depth + 1) * ROW
    share = 100 * node.samples / max(total, 1)
    label = html.escape(node.name)
    hue = 20 + zlib.crc32(package(node.name).encode()) % 40
    out.append(
        f"<g><title>{label} ({node.samples} samples, {share:.1f}%)</title>"
        f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{ROW - 1}" '
        f'fill="hsl({hue},90%,60%)"/>'
    )
    if width > 40:  # the name cut to fit before it is escaped, so no entity is cut in two
        fitted = html.escape(node.name[: int(width / 7)])
        out.append(f'<text x="{x + 2:.1f}" y="{y + 11}">{fitted}</text>')
    out.append("</g>")
    deepest = depth
    for child in sorted(node.children.values(), key=lambda c: c.name):
        if child.samples * scale >= MIN_WIDTH:
            deepest = max(deepest, _draw(child, x, depth + 1, scale, total, out))
        x += child.samples * scale
    return deepest

"""The grpcurl examples of README.md and docs/*.md as data: each command with the output shown
after it, README.md first, then the docs pages by name, each page's in its own order."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mesh.topology import SERVICES
from tests.support import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
COMMAND_STARTS = ("grpcurl ", "for port in ", "for attempt in ")
TRACE_COMMAND = "make trace ID="
# Values that differ from run to run, masked the same way in the pages and in real output.
# A mask matches only a well-formed value, so a missing, zero or malformed one still differs.
MASKS = (
    (
        re.compile(r'"(createdAt|updatedAt)": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"'),
        r'"\1": "<time>"',
    ),
    # Proceeds, fees and so cash follow the simulated prices, which move with time.
    (re.compile(r'"minorUnits": "[1-9]\d*"'), '"minorUnits": "<non-zero>"'),
    (re.compile(r"^x-trace-id: [0-9a-f]{32}$", re.MULTILINE), "x-trace-id: <32 hex digits>"),
)


@dataclass(frozen=True)
class Example:
    command: str
    output: str
    line: int  # of the command in its page, for failure messages
    page: str = "README.md"  # relative to the repository

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.command}"


def pages() -> list[Path]:
    """README.md, then every docs/*.md page by name: the order their examples run in."""
    return [README, *sorted(DOCS.glob("*.md"))]


def page_name(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def all_text() -> str:
    """Every page's text, README.md first, for what may live on any of them."""
    return "\n".join(path.read_text() for path in pages())


def all_examples() -> list[Example]:
    """The examples of every page: README.md's, then each docs page's, each in page order."""
    return [e for path in pages() for e in examples(path.read_text(), page_name(path))]


def examples(text: str, page: str = "README.md") -> list[Example]:
    """Each ```sh block running grpcurl, paired with the ```text block that must follow it."""
    blocks = [
        (match.group(1), match.group(2), text.count("\n", 0, match.start()) + 2)
        for match in FENCE.finditer(text)
    ]
    found = []
    for index, (language, body, line) in enumerate(blocks):
        if language != "sh" or not body.startswith(COMMAND_STARTS):
            continue
        after = blocks[index + 1] if index + 1 < len(blocks) else None
        if after is None or after[0] != "text":
            raise ValueError(f"{page}:{line}: no ```text block with the output of: {body}")
        found.append(Example(body.strip(), after[1].rstrip("\n"), line, page))
    return found


def trace_id_shown_for_make_trace(text: str) -> str:
    """The id in the `make trace ID=...` block of `text` (one page, or all_text())."""
    match = re.search(rf"^{re.escape(TRACE_COMMAND)}([0-9a-f]+)$", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"no page has a `{TRACE_COMMAND}<trace-id>` command")
    return match.group(1)


def on_ports(command: str, addresses: Mapping[str, str]) -> str:
    """`command` with each service's default port (50051 ... 50055) replaced by its port in
    `addresses` (service -> host:port). The pages' commands all use 127.0.0.1, as does the
    test mesh, and the health loop spells ports alone, so ports are what is replaced."""
    ports = {str(service.port): _port(addresses[service.name]) for service in SERVICES}
    pattern = re.compile(r"\b(" + "|".join(ports) + r")\b")
    return pattern.sub(lambda match: ports[match.group(1)], command)


def with_certs(command: str, certs_dir: Path) -> str:
    """`command` with the pages' data/certs/ (where `make run` keeps them) replaced by the
    folder of the test mesh's certificates."""
    return command.replace("data/certs/", f"{certs_dir}/")


def masked(output: str) -> str:
    for pattern, replacement in MASKS:
        output = pattern.sub(replacement, output)
    return output


def _port(address: str) -> str:
    return address.rpartition(":")[2]

"""The README stays a front page and the docs stay reference: README.md is at most 300 lines and
indexes every docs/*.md page; every relative link in them reaches a file that exists; and none of
them tells history (issue numbers, rounds, before/after, commit hashes), which belongs in git and
in results/history/."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.support import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
MAX_README_LINES = 300
INDEX_HEADING = "## Docs"

FENCE = re.compile(r"^```.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target) and ![alt](target); the target ends at whitespace or the closing parenthesis.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
HISTORY = (
    re.compile(r"\bissue\s*#?\d+", re.IGNORECASE),
    re.compile(r"\bthis round\b|\bround \d+\b|\bround\d+'s\b", re.IGNORECASE),
    re.compile(r"\b(before|after) (these|this|the) changes?\b", re.IGNORECASE),
    re.compile(r"\bprevious (full )?run\b", re.IGNORECASE),
)
# A commit hash in prose: 7 to 40 hex digits with a letter and a digit, standing alone (not part
# of a UUID or a path). A trace id (32 hex digits) or span id (16) is not a commit.
HASH = re.compile(r"(?<![\w/.-])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)([0-9a-f]{7,40})(?![\w/-])")
ID_LENGTHS = (16, 32)


def name(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def prose(text: str) -> str:
    """`text` with its fenced code blocks blanked out, lines kept so numbers still match."""
    return FENCE.sub(lambda match: "\n" * match.group(0).count("\n"), text)


def links(text: str) -> list[tuple[int, str]]:
    """(line, target) of every Markdown link outside code blocks and code spans."""
    found = []
    for number, line in enumerate(prose(text).splitlines(), start=1):
        for match in LINK.finditer(INLINE_CODE.sub("", line)):
            found.append((number, match.group(1)))
    return found


def is_relative(target: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) and not target.startswith(
        "#"
    )


def test_the_readme_has_at_most_300_lines() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move a topic to docs/"


def test_there_are_docs_pages() -> None:
    assert len(PAGES) > 1, "no docs/*.md pages"


def test_the_readme_docs_index_links_every_docs_page() -> None:
    text = README.read_text()
    start = text.find(f"\n{INDEX_HEADING}\n")
    assert start >= 0, f"README.md has no {INDEX_HEADING!r} section"
    end = text.find("\n## ", start + 1)
    index = text[start : end if end >= 0 else len(text)]
    linked = {
        (REPO_ROOT / target.split("#")[0]).resolve()
        for _, target in links(index)
        if is_relative(target)
    }
    missing = [name(page) for page in PAGES[1:] if page.resolve() not in linked]
    assert not missing, f"README.md's {INDEX_HEADING} section does not link {missing}"


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_every_relative_link_points_at_a_file_that_exists(page: Path) -> None:
    broken = [
        f"{name(page)}:{line}: {target}"
        for line, target in links(page.read_text())
        if is_relative(target)
        and not (page.parent / unquote(target.split("#")[0])).resolve().exists()
    ]
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_no_page_tells_history(page: Path) -> None:
    told = []
    for number, line in enumerate(prose(page.read_text()).splitlines(), start=1):
        told += [
            f"{name(page)}:{number}: {m.group(0)!r}" for p in HISTORY for m in p.finditer(line)
        ]
        told += [
            f"{name(page)}:{number}: {m.group(1)!r} looks like a commit"
            for m in HASH.finditer(line)
            if len(m.group(1)) not in ID_LENGTHS
        ]
    assert not told, "history belongs in git and results/history/:\n" + "\n".join(told)


@pytest.mark.parametrize(
    ("line", "flagged"),
    [
        ("main at 00dac97 after the fix", True),
        ("the previous full run, main at 212ece8", True),
        ("The targets (issue 17), printed", True),
        ("this round's levers", True),
        ("The run before these changes", True),
        ("order 55f30829-9894-552d-ac49-5a71e0b7536c is FILLED", False),
        ("trace 3f1d0c9a8b7e6d5c4b3a291807f6e5d4 in Jaeger", False),
        ("10,000.00 USD was 1000000", False),
        ("results/profiles/round5/ holds the profile", False),
        ("a decade of effaced records", False),
    ],
)
def test_the_history_check_tells_hashes_and_rounds_from_ids_and_amounts(
    line: str, flagged: bool
) -> None:
    hashes = [m for m in HASH.finditer(line) if len(m.group(1)) not in ID_LENGTHS]
    words = [m for p in HISTORY for m in p.finditer(line)]
    assert bool(hashes or words) == flagged, line


def test_code_blocks_are_not_prose() -> None:
    text = "a\n```text\nx-trace-id: 00dac97\n```\nb\n"
    assert "00dac97" not in prose(text)
    assert prose(text).count("\n") == text.count("\n")

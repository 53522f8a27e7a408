"""The stores' SQL as PostgreSQL reads it: `?` becomes `%s`, `%` is escaped, and a `?` inside a
quoted literal (which would be changed by mistake) is refused; no store has one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mesh.storage.postgres import to_pyformat
from tests.support import REPO_ROOT


def test_placeholders_become_pyformat_and_percent_signs_are_escaped() -> None:
    sql = "SELECT a FROM t WHERE b = ? AND c LIKE 'x%' AND d IN (?, ?)"

    assert to_pyformat(sql) == "SELECT a FROM t WHERE b = %s AND c LIKE 'x%%' AND d IN (%s, %s)"


def test_a_question_mark_inside_a_literal_is_refused() -> None:
    with pytest.raises(ValueError, match="inside a quoted literal"):
        to_pyformat("SELECT 'why?' FROM t WHERE a = ?")


def test_doubled_quotes_inside_a_literal_keep_the_placeholders_outside_it() -> None:
    assert to_pyformat("SELECT 'it''s' WHERE a = ?") == "SELECT 'it''s' WHERE a = %s"


def sql_strings(path: Path) -> list[str]:
    return [
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and any(word in node.value for word in ("SELECT", "INSERT", "UPDATE", "DELETE"))
    ]


SQL_FILES = [
    *sorted((REPO_ROOT / "services").glob("*/store.py")),
    REPO_ROOT / "mesh" / "events" / "outbox.py",
    REPO_ROOT / "mesh" / "events" / "consumer.py",
]


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_store_has_a_question_mark_inside_a_literal(path: Path) -> None:
    strings = sql_strings(path)

    assert strings, f"no SQL found in {path}"
    for sql in strings:
        to_pyformat(sql)  # raises on a '?' inside quotes

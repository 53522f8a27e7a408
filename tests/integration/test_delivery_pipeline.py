"""The CI workflow runs what the README says CI runs, and deploys what `make k8s-check` verified."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.support import REPO_ROOT
from tooling.k8s_check.__main__ import DEFAULT_OVERLAYS

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
README = REPO_ROOT / "README.md"
MAKEFILE = REPO_ROOT / "Makefile"
PRODUCTION = "deploy/k8s/overlays/production"


def workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def commands(job: str) -> list[str]:
    """Every shell line the job's steps run, continuation lines joined."""
    lines = []
    for step in workflow()["jobs"][job]["steps"]:
        script = step.get("run", "").replace("\\\n", " ")
        lines += [" ".join(line.split()) for line in script.splitlines() if line.strip()]
    return lines


def readme_test_command() -> str:
    """The command the README's quickstart block gives for everything CI runs."""
    match = re.search(r"^(make \S+)\s+# everything CI runs", README.read_text(), re.MULTILINE)
    assert match, "README.md no longer says which command runs everything CI runs"
    return match.group(1)


def test_the_test_job_runs_the_readme_test_command() -> None:
    assert readme_test_command() in commands("test")


def test_make_test_runs_the_k8s_check_through_its_end_to_end_test() -> None:
    test = (REPO_ROOT / "tests" / "e2e" / "test_k8s_check.py").read_text()
    assert "tooling.k8s_check" in test
    assert re.search(
        r"^k8s-check:.*\n\t\$\(PY\) -m tooling\.k8s_check$", MAKEFILE.read_text(), re.MULTILINE
    )


def test_the_deploy_job_applies_the_production_overlay_that_the_check_verifies() -> None:
    assert REPO_ROOT / PRODUCTION in DEFAULT_OVERLAYS
    applies = [c for c in commands("deploy") if c.startswith("kubectl apply")]
    applied = [c.split(" -k ")[1] for c in applies if " -k " in c]
    assert applied == [PRODUCTION, PRODUCTION]
    assert any("--dry-run=server" in c for c in applies)
    assert all("--server-side --validate=strict" in c for c in applies)


def test_the_deploy_job_sets_the_image_that_the_image_job_pushed() -> None:
    pushed = [c for c in commands("image") if c.startswith("docker push")]
    assert pushed == ['docker push "$IMAGE:$GITHUB_SHA"']
    [set_image] = [c for c in commands("deploy") if "edit set image" in c]
    assert '"simplebank-mesh=$IMAGE:$GITHUB_SHA"' in set_image
    deploy = workflow()["jobs"]["deploy"]
    assert deploy["needs"] == "image"
    assert "needs.image.outputs.image" in str(deploy["steps"])


def test_deploying_waits_for_a_person_in_the_production_environment() -> None:
    jobs = workflow()["jobs"]
    assert jobs["deploy"]["environment"] == "production"
    assert jobs["image"]["needs"] == "test"
    assert "refs/heads/main" in jobs["image"]["if"]


def test_pre_commit_runs_the_fast_checks_with_the_project_tools() -> None:
    config = yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text())
    [repo] = config["repos"]
    assert repo["repo"] == "local"
    entries = {hook["id"]: hook["entry"] for hook in repo["hooks"]}
    assert set(entries) == {"ruff", "ruff-format", "mypy", "buf-lint"}
    lint = MAKEFILE.read_text().split("\nlint:")[1].split("\n\n")[0]
    for entry in entries.values():
        tool = entry.split()[0].split("/")[-1]
        assert tool in lint, f"{entry} is not one of make lint's checks"


USES = re.compile(r"^\s*-?\s*uses:\s*(\S+)(.*)$", re.MULTILINE)
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s+# v\d+\.\d+\.\d+$")


def test_every_action_is_pinned_by_a_full_commit_sha_with_its_version_in_a_comment() -> None:
    uses = USES.findall(WORKFLOW.read_text())
    assert uses
    unpinned = [f"{action}{rest}" for action, rest in uses if not PINNED.match(action)]
    assert not unpinned, f"pinned by a tag or branch, which can move: {unpinned}"
    unnamed = [action for action, rest in uses if not VERSION_COMMENT.match(rest)]
    assert not unnamed, f"no `# vX.Y.Z` comment naming the release: {unnamed}"


def test_no_job_runs_a_download_that_no_checksum_verifies() -> None:
    """Binaries come from Go modules (checked against Go's checksum database) or with a pinned
    sha256 checked before use; the deploy job's kubectl runs with the cluster's credentials."""
    for job in workflow()["jobs"]:
        lines = commands(job)
        downloads = [line for line in lines if re.search(r"\b(curl|wget)\b", line)]
        for line in downloads:
            assert any("sha256sum --check" in other for other in lines), f"{job}: {line}"


def test_the_deploy_job_uses_the_kubectl_built_from_its_go_module() -> None:
    deploy = commands("deploy")
    # The control-plane part of make tools-k8s (its real node needs root and Debian packages).
    assert "tooling/sh/install-tools.sh kubernetes" in deploy
    assert 'echo "$PWD/.tools/bin" >> "$GITHUB_PATH"' in deploy

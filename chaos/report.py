"""The table make chaos prints: what it did, what the load got, and what held."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from chaos.actions import Action
from chaos.checks import Check


def table(
    seed: int, actions: Sequence[Action], answers: Counter[str], checks: Sequence[Check]
) -> str:
    lines = [f"chaos, seed {seed}", "", "   at s  action    target    detail"]
    lines += [f"  {a.at:5.1f}  {a.kind:<8}  {a.target:<8}  {a.detail}" for a in actions]
    lines += ["", "  load: " + ", ".join(f"{n} {answer}" for answer, n in answers.most_common())]
    lines += ["", f"  {'check (on snapshots during the run, and at the end)':<52} result"]
    for check in checks:
        lines.append(f"  {check.name:<52} {'held' if check.held else 'BROKEN'}")
        lines += [f"      {problem}" for problem in check.problems[:5]]
    return "\n".join(lines)

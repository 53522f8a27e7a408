"""The table make chaos prints: what it did, what the load got, and what held."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tooling.chaos.actions import Action
from tooling.chaos.checks import Check
from tooling.chaos.load import Load

# After a kill: the seconds in which calls may fail until the caller's channel (or JetStream)
# has moved to a live replica (or leader).
KILL_WINDOW_SECONDS = 5.0


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


def failed_during_kills(actions: Sequence[Action], load: Load, began: float) -> str:
    """The share of calls the mesh failed in the seconds after each kill, and over the run."""
    lines = ["", f"  calls the mesh failed, within {KILL_WINDOW_SECONDS:g} s after each kill:"]
    windows = 0, 0
    for action in actions:
        since = began + action.at
        failed, made = load.failed_share(since, since + KILL_WINDOW_SECONDS)
        windows = windows[0] + failed, windows[1] + made
        lines.append(f"    {action.at:5.1f}s  {action.target:<10} {failed} of {made}")
    failed, made = load.failed_share()
    lines += [
        f"  failed during kills: {windows[0]} of {windows[1]} ({_share(windows)}); over the run:"
        f" {failed} of {made} ({_share((failed, made))}); accepted orders: {len(load.accepted)}",
    ]
    return "\n".join(lines)


def _share(counts: tuple[int, int]) -> str:
    failed, made = counts
    return f"{failed / made:.0%}" if made else "no calls"

"""Progress lines on stderr, so a run of several minutes shows what it is doing."""

from __future__ import annotations

import sys


def say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)

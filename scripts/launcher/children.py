"""One child process of `make run`: started in its own process group, its output in one log file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts.launcher.paths import REPO_ROOT


@dataclass(frozen=True)
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(cls, name: str, args: Sequence[str], env: Mapping[str, str], log_dir: Path) -> Child:
        """Start `args` with stdout and stderr in <log_dir>/<name>.log.

        Its own session keeps the terminal's Ctrl-C away from it, so the launcher alone decides
        the order things stop in; signalling the group reaches anything it starts in turn.
        """
        log_path = log_dir / f"{name}.log"
        with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(
                list(args),
                cwd=REPO_ROOT,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(name, process, log_path)

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        """None while it runs."""
        return self.process.poll()

    def send(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):  # it may have exited just now
            os.killpg(self.process.pid, signum)

    def wait(self, timeout: float) -> int | None:
        """Its exit code, or None if it is still running after `timeout` seconds."""
        try:
            return self.process.wait(max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            return None

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(f"    {line}" for line in text[-lines:]) or "    (the log is empty)"

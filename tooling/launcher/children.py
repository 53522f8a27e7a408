"""One child process of `make run`: its own process group, its output in one log file, and
killed by the kernel if the launcher dies, even by SIGKILL (PR_SET_PDEATHSIG)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling.launcher.paths import REPO_ROOT

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with(parent: int) -> Callable[[], None]:
    """Run in the child between fork and exec: ask the kernel for SIGKILL when the launcher dies.

    Children run in sessions of their own, so nothing a terminal or a process-group kill sends
    to the launcher reaches them; this does. The signal follows the thread that forked the child,
    so the launcher starts and restarts children from its main thread only. It reaches the child
    alone: the mesh's children start no processes of their own (a child that did would have to
    ask the same for its children).
    """

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork, not after

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the launcher died before the request was made
            os._exit(1)

    return preexec


@dataclass(frozen=True)
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None

    @classmethod
    def start(
        cls,
        name: str,
        args: Sequence[str],
        env: Mapping[str, str],
        log_dir: Path,
        append: bool = False,
    ) -> Child:
        """Start `args` with stdout and stderr in <log_dir>/<name>.log (added to, on a restart).

        Its own session keeps the terminal's Ctrl-C away from it, so the launcher alone decides
        the order things stop in; signalling the group reaches anything it starts in turn.
        """
        log_path = log_dir / f"{name}.log"
        with log_path.open("ab" if append else "wb") as log:  # the child keeps its own copy
            process = subprocess.Popen(
                list(args),
                cwd=REPO_ROOT,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with(os.getpid()),
            )
        return cls(name, process, log_path, tuple(args), dict(env))

    def restarted(self) -> Child:
        """The same command started again, its output added to the same log."""
        assert self.env is not None
        return Child.start(self.name, self.args, self.env, self.log_path.parent, append=True)

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

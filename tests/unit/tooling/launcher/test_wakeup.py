"""The launcher's watch sleeps until a signal: a child's exit wakes it, nothing else does."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from tooling.launcher.wakeup import SignalWakeup


def test_a_child_exiting_wakes_it_at_once() -> None:
    with SignalWakeup() as wakeup:
        child = subprocess.Popen(["sleep", "0.2"])
        started = time.monotonic()
        wakeup.wait(10.0)
        waited = time.monotonic() - started
        assert child.wait(timeout=5) == 0
    assert waited < 5.0, f"woke after {waited:.1f}s, not at the child's exit"


def test_without_a_signal_it_sleeps_out_its_timeout() -> None:
    with SignalWakeup() as wakeup:
        started = time.monotonic()
        wakeup.wait(0.3)
        assert time.monotonic() - started >= 0.29


def test_a_signal_before_the_wait_is_not_missed() -> None:
    previous = signal.signal(signal.SIGUSR1, lambda *_: None)
    try:
        with SignalWakeup() as wakeup:
            os.kill(os.getpid(), signal.SIGUSR1)
            started = time.monotonic()
            wakeup.wait(10.0)
            assert time.monotonic() - started < 5.0
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_leaving_puts_back_sigchld_and_the_wakeup_fd() -> None:
    before = signal.getsignal(signal.SIGCHLD)
    with SignalWakeup():
        assert signal.getsignal(signal.SIGCHLD) is not before
    assert signal.getsignal(signal.SIGCHLD) == before
    assert signal.set_wakeup_fd(-1) == -1

"""A component that runs one loop beside the server until the service stops."""

from __future__ import annotations

import asyncio
import contextlib

# How long stop waits for a cancelled loop to end before it cancels it again.
RECANCEL_SECONDS = 1.0


class BackgroundLoop:
    """Start runs `run()` as a task; stop cancels it and waits for it to end.

    Cancelling is safe for every loop here: work is either committed or not, and what was
    committed but not yet acknowledged comes back and is recognised.
    """

    task_name = "background"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.task_name)

    async def stop(self) -> None:
        """Cancel the loop until it ends. Once is not always enough: on Python 3.11 a
        cancellation that lands just as the `asyncio.wait_for` it waits in finishes is
        swallowed (the relay's wake-up; nats-py's fetch, as a message arrives), and the loop
        would go on until the process is killed."""
        task = self._task
        if task is None:
            return
        while not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=RECANCEL_SECONDS)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._task = None

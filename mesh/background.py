"""A component that runs one loop beside the server until the service stops."""

from __future__ import annotations

import asyncio
import contextlib


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
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

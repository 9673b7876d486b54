"""The threads a run's jobs run in: a queue of callables and `jobs` threads taking them in order.

Leaner than `concurrent.futures.ThreadPoolExecutor` for thousands of sub-millisecond jobs: a job
settles its own unit when it ends (`executor._Apply._ended`), so no future is made, completed and
waited on per job.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

__all__ = ["Workers"]


class Workers:
    """`jobs` threads that run the callables `submit` queues, until `shutdown`."""

    def __init__(self, jobs: int, name: str) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"{name}_{i}") for i in range(jobs)]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._queue.put(job)

    def shutdown(self, *, wait: bool) -> None:
        """Drop the queued jobs that have not started and end the threads once their jobs end
        (`wait`: waiting for them; else a job that cannot be stopped is left to run)."""
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            for thread in self._threads:
                thread.join()

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            job()  # a job settles its own outcome, errors included

"""The sender threads: up to `size` of them, fed by one queue, started as work arrives.

A plain queue and threads rather than a `ThreadPoolExecutor`: an executor makes a
`Future` (with its own lock and condition) and a work item for every delivery,
which a profile of a busy dispatcher showed as a few percent of its CPU; here a
claim is the only thing queued. Like the executor, the pool starts a thread only
while more claims wait or are being sent than it has threads, so a dispatcher
that never had a backlog keeps few threads (and their memory).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class SenderPool(Generic[Item]):
    """Runs `work(item)` for every submitted item on up to `size` threads."""

    def __init__(self, size: int, work: Callable[[Item], None], name: str = "send") -> None:
        self.size = size
        self._work = work
        self._name = name
        self._queue: queue.SimpleQueue[Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # guards `_busy` and `_threads`
        self._busy = 0  # items queued or being worked on
        self._threads: list[threading.Thread] = []

    @property
    def threads(self) -> int:
        """How many threads the pool has started."""
        with self._lock:
            return len(self._threads)

    def submit(self, item: Item) -> None:
        with self._lock:
            self._busy += 1
            start = self._busy > len(self._threads) and len(self._threads) < self.size
            if start:
                thread = threading.Thread(
                    target=self._run, name=f"{self._name}_{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
        if start:
            thread.start()
        self._queue.put(item)

    def take_queued(self) -> list[Item]:
        """Remove and return the items no thread has taken yet."""
        taken = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                taken.append(item)
        with self._lock:
            self._busy -= len(taken)
        return taken

    def shutdown(self) -> None:
        """Let every thread finish what it is doing (and what is queued), then join them."""
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._work(item)
            finally:
                with self._lock:
                    self._busy -= 1

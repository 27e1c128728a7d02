"""The recorder: one thread that writes the senders' results, in batches.

Sender threads hand each result over (`put`) and go on sending; the recorder
writes whatever has piled up while its last transaction ran, one transaction
each time, so a busy dispatcher writes many results per round trip without
ever waiting to fill a batch.
"""

from __future__ import annotations

import queue
from collections.abc import Callable

from notifier.worker.client import DeliveryResult
from notifier.worker.policy import Settings
from notifier.worker.queue import Claim, DeliveryQueue, with_db_retry

_STOP = object()  # tells the recorder to finish


class Recorder:
    """Batches results into `DeliveryQueue.record_many`; `run()` is the thread's body."""

    def __init__(
        self,
        delivery_queue: DeliveryQueue,
        settings: Settings,
        done: Callable[[int], None],
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.queue = delivery_queue
        self.settings = settings
        self._done = done  # told how many claims are finished with, after each batch
        self._stopping = stopping
        self._results: queue.SimpleQueue = queue.SimpleQueue()

    def put(self, claim: Claim, result: DeliveryResult) -> None:
        """Hand a result over to be written (from any thread)."""
        self._results.put((claim, result))

    def finish(self) -> None:
        """Let `run()` return once everything put before this call is written."""
        self._results.put(_STOP)

    def run(self) -> None:
        """Write whatever results are ready, one transaction each time, until `finish()`.

        While the database is down the batch is retried (within the lease) and
        its claims stay outstanding, so the main loop stops claiming more.
        """
        finishing = False
        while not finishing:
            first = self._results.get()
            if first is _STOP:
                break
            batch = [first]
            while len(batch) < self.settings.record_batch:
                try:
                    item = self._results.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    finishing = True
                    break
                batch.append(item)
            try:
                self._write(batch)
            finally:
                self._done(len(batch))

    def _write(self, batch: list[tuple[Claim, DeliveryResult]]) -> None:
        ok = with_db_retry(
            lambda: self.queue.record_many(batch),
            "record",
            [claim.id for claim, _ in batch],
            self.settings,
            self._stopping,
        )
        if ok is False and len(batch) > 1:
            # One bad result must not sink the others: write them one by one.
            for claim, result in batch:
                with_db_retry(
                    lambda c=claim, r=result: self.queue.record(c, r),
                    "record",
                    [claim.id],
                    self.settings,
                    self._stopping,
                )

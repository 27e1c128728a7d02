"""The dispatcher's runner: the loop, the sender threads, the recorder thread, stopping.

One loop per process claims work (`DeliveryQueue.claim`), a pool of sender
threads calls the delivery service (no database connection held), and one
recorder thread writes the results (`Recorder`). The life of one try:

1. **Claim** (main thread, one short transaction): due `pending` rows become
   `sending` under a lease; rows whose lease expired are taken back first.
2. **Send** (a sender thread): `POST /deliver` with the row's `delivery_key` as
   the idempotency key, so a repeat after a lost answer or an expired lease is
   recognised by the provider.
3. **Record** (the recorder thread): a compare-and-set on the claimed version
   writes each outcome and adds the attempt; a row deleted or taken back
   meanwhile is left alone.

The SQL of each step is in `notifications.lifecycle`; what a result means
(backoff, last attempt) is in `policy`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from notifier.database import utcnow
from notifier.observability.logs import notification_context
from notifier.worker.client import DeliveryClient, DeliveryResult
from notifier.worker.policy import Settings, failed_inside, too_late_to_send
from notifier.worker.queue import Claim, DeliveryQueue, with_db_retry
from notifier.worker.recorder import Recorder
from notifier.worker.senders import SenderPool
from notifier.worker.wakeup import Waiter

log = logging.getLogger(__name__)


class Dispatcher:
    """Claims due notifications, sends them concurrently, records every attempt.

    `run()` is the long-running loop (the `worker` command); `stop()` ends it.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        client: DeliveryClient | None = None,
        waiter: Waiter | None = None,
        purge: Callable[[datetime], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.client = client or DeliveryClient(
            settings.service_url,
            settings.timeout_s,
            pool_size=settings.concurrency,
            api_token=settings.api_token,
        )
        self.waiter = waiter or Waiter(engine)
        self.queue = DeliveryQueue(engine, settings, on_retry=self._note_retry)
        self.recorder = Recorder(self.queue, settings, done=self._done, stopping=self._is_stopping)
        self._purge = purge
        self._stopping = False  # a plain flag: set from a signal handler, read by threads
        # Guards `_outstanding`; the main loop waits on it for room.
        self._slots = threading.Condition(threading.Lock())
        # Claims in hand: queued for a sender, being sent, or waiting to be recorded.
        self._outstanding = 0
        self._last_purge = float("-inf")

    @property
    def counts(self) -> Counter[str]:
        """What this dispatcher did: claimed, sent, retried, failed, released, dropped..."""
        return self.queue.counts

    def send(self, claim: Claim) -> DeliveryResult:
        """Call the delivery service for one claim; never raises."""
        started_at = utcnow()
        with notification_context(claim.id):
            try:
                return self.client.deliver(claim.request)
            except Exception as error:
                log.exception("notification %s: could not be sent", claim.id)
                return failed_inside(error, started_at, utcnow())

    def release_instead(self, claim: Claim) -> bool:
        """Give a claim back instead of sending it, if it should not be sent now."""
        if self._stopping:
            # Shutting down: not sent yet, so give it back rather than start now.
            self._release([claim])
            return True
        if too_late_to_send(time.monotonic(), claim.lease_deadline, self.settings):
            log.warning("notification %s: lease nearly spent before sending; released", claim.id)
            self._release([claim])
            return True
        return False

    def _release(self, claims: list[Claim]) -> None:
        with_db_retry(
            lambda: self.queue.release(claims),
            "release",
            [claim.id for claim in claims],
            self.settings,
            self._is_stopping,
        )

    def stop(self) -> None:
        """Stop claiming; `run()` returns once in-flight sends are recorded.

        Safe to call from a signal handler: it sets a flag and writes one byte.
        """
        self._stopping = True
        self.waiter.wake()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def _is_stopping(self) -> bool:
        return self._stopping

    def run(self, once: bool = False) -> None:
        """Deliver until `stop()` (or, with `once`, until nothing is due).

        `concurrency` sender threads call the delivery service; up to
        `batch_size` more claims wait in their queue, so a sender that finishes
        starts its next request at once instead of waiting for the next claim.
        The loop claims again when there is room for half a batch, so each claim
        carries many rows. When a claim came back full, more may be due: claim
        again without sleeping. Otherwise sleep until a `NOTIFY`, the next known
        due time, or the poll interval, whichever comes first.
        """
        settings = self.settings
        capacity = settings.concurrency + settings.batch_size
        low_water = max(1, settings.batch_size // 2)
        self.waiter.start()
        pool = SenderPool(settings.concurrency, self._send_in_slot)
        recorder = threading.Thread(target=self.recorder.run, name="record", daemon=True)
        recorder.start()
        db_failures = 0
        log.info(
            "dispatcher started: %s, concurrency %d, batch %d, lease %gs, %s",
            settings.service_url,
            settings.concurrency,
            settings.batch_size,
            settings.lease_s,
            "LISTEN/NOTIFY"
            if self.waiter.listening
            else f"polling every {settings.poll_interval_s:g}s",
        )
        try:
            while not self._stopping:
                self._maybe_purge()
                room = self._wait_for_room(capacity, low_water)
                if self._stopping:
                    break
                wanted = min(room, settings.batch_size)
                # Consume wake-ups first: one arriving after this line means a row
                # committed after the claim's snapshot may be due, and wakes the sleep.
                self.waiter.drain()
                try:
                    claims = self.queue.claim(wanted)
                except Exception as error:
                    # The database is down (or a bug): keep the process alive, back off,
                    # and try again; nothing is lost, the rows wait in the table.
                    db_failures += 1
                    delay = settings.db_retry_delay(db_failures)
                    if isinstance(error, SQLAlchemyError):
                        log.error("claim failed (%s); retrying in %g s", error, delay)
                    else:
                        log.exception("claim failed; retrying in %g s", delay)
                    self.waiter.wait(delay)
                    continue
                db_failures = 0
                for claim in claims:
                    self._submit(pool, claim)
                if len(claims) == wanted:
                    continue
                if once:
                    if not claims and self._wait_until_idle():
                        break
                    continue
                self.waiter.wait(self._idle_timeout())
        except Exception:
            log.exception("dispatcher loop crashed")
            raise
        finally:
            self._shutdown(pool, recorder)

    def _shutdown(self, pool: SenderPool[Claim], recorder: threading.Thread) -> None:
        """Stop claiming, give back what waits in the queue, let in-flight sends finish.

        Each in-flight send is bounded by the timeout; its result is recorded as
        usual before the recorder thread is told to finish.
        """
        self._stopping = True
        # Still queued: no sender took them (a sender that does gives its claim back).
        unsent = pool.take_queued()
        if unsent:
            self._release(unsent)
            self._done(len(unsent))
        pool.shutdown()
        self.recorder.finish()
        recorder.join()
        self.waiter.close()
        self.client.close()
        log.info("dispatcher stopped: %s", dict(self.counts))

    def _submit(self, pool: SenderPool[Claim], claim: Claim) -> None:
        # Counted before it is queued: its sender's `_done` cannot come first.
        with self._slots:
            self._outstanding += 1
        pool.submit(claim)

    def _send_in_slot(self, claim: Claim) -> None:
        """A sender thread's job: send, then hand the result to the recorder."""
        handed_over = False
        try:
            if not self.release_instead(claim):
                self.recorder.put(claim, self.send(claim))
                handed_over = True
        except Exception:  # send() handles its own errors; this is the last guard
            log.exception("notification %s: unexpected error", claim.id)
        finally:
            if not handed_over:
                self._done(1)

    def _done(self, n: int) -> None:
        with self._slots:
            self._outstanding -= n
            self._slots.notify_all()

    def _wait_for_room(self, capacity: int, low_water: int) -> int:
        """Block until at least `low_water` more claims fit; return how many fit."""
        with self._slots:
            while capacity - self._outstanding < low_water and not self._stopping:
                # A timeout, because a signal handler cannot notify this condition.
                self._slots.wait(0.5)
            return capacity - self._outstanding

    def _wait_until_idle(self) -> bool:
        """For `--once`: wait for outstanding claims; True if none were left."""
        with self._slots:
            if self._outstanding == 0:
                return True
            while self._outstanding and not self._stopping:
                self._slots.wait(0.5)
            return False

    def _idle_timeout(self) -> float:
        """Sleep until the earliest known due time, at most the poll interval."""
        timeout = self.settings.poll_interval_s
        try:
            earliest = self.queue.next_due_times()
        except Exception:  # the database is down: poll; the claim will log it
            return timeout
        now = utcnow()
        for when in earliest:
            if when is not None:
                timeout = min(timeout, (when - now).total_seconds() + 0.001)
        return max(0.0, timeout)

    def _note_retry(self, due: datetime, now: datetime) -> None:
        """A retry due before the next poll: wake the loop so it re-reads the due times."""
        if (due - now).total_seconds() < self.settings.poll_interval_s:
            self.waiter.wake()

    def _maybe_purge(self) -> None:
        """Every `purge_every_s`, delete idempotency keys older than their TTL."""
        if self._purge is None:
            return
        if time.monotonic() - self._last_purge < self.settings.purge_every_s:
            return
        self._last_purge = time.monotonic()
        cutoff = utcnow() - timedelta(seconds=self.settings.idempotency_key_ttl_s)
        try:
            purged = self._purge(cutoff)
        except Exception as error:
            log.warning("purging expired idempotency keys failed: %s", error)
            return
        if purged:
            log.info("purged %s expired idempotency key(s)", purged)

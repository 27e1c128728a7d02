"""The webhook sender: claims due deliveries and sends them from its own thread pool.

It runs inside the worker (`flask --app wsgi worker`) next to the dispatcher,
with its own loop thread and its own pool of sender threads, so a slow or dead
receiver occupies only webhook threads and never delays a notification.

One loop thread does all database work (one connection): it claims due
deliveries (`delivery_queue.py`), hands them to the sender threads, and writes
the results that are ready in one transaction. Sender threads hold no
connection; each builds the signed request (`signing.py`), sends it through the
guarded transport (`transport.py`) and classifies the answer (`policy.py`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import urllib3.exceptions
from sqlalchemy.engine import Engine

from notifier.database import utcnow
from notifier.observability.metrics import record_webhook_delivery
from notifier.webhooks import signing, ssrf
from notifier.webhooks.delivery_queue import DeliveryQueue, Job, Outcome
from notifier.webhooks.models import DeliveryStatus
from notifier.webhooks.policy import RETRY, SenderSettings, retry_delay, verdict
from notifier.webhooks.transport import Transport
from notifier.worker.answers import parse_retry_after

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 500
DB_RETRY_S = 2.0
_WAKE = object()  # wakes the loop (stop)


def _short(text: str) -> str:
    """Printable, one line, at most MAX_ERROR_CHARS: safe to store and to show."""
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def describe(error: BaseException, timeout_s: float) -> str:
    """A sentence for the delivery log about a try that got no answer."""
    if isinstance(error, ssrf.AddressRefused):
        return f"Not called: {error}"
    # urllib3 2 makes a refused connection a kind of connect timeout: tell it apart first.
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return "Could not connect to the receiver."
    if isinstance(error, urllib3.exceptions.TimeoutError):
        return f"No answer within {timeout_s:g} s."
    if isinstance(error, urllib3.exceptions.SSLError):
        return _short(f"TLS error: {error}")
    if isinstance(error, urllib3.exceptions.ProtocolError):
        return "The receiver closed the connection or did not answer in HTTP."
    if isinstance(error, urllib3.exceptions.HTTPError):
        return _short(f"HTTP error: {type(error).__name__}")
    if isinstance(error, ValueError):
        return _short(f"The URL cannot be called: {error}")
    if isinstance(error, OSError):
        return "The receiver's host name does not resolve."
    return _short(f"Internal error: {type(error).__name__}")


class WebhookSender:
    def __init__(
        self, engine: Engine, settings: SenderSettings, transport: Transport | None = None
    ) -> None:
        self.settings = settings
        self.queue = DeliveryQueue(engine, settings.max_attempts, settings.lease_s)
        self.transport = transport or Transport(
            settings.timeout_s,
            settings.allow_http,
            settings.allow_private_networks,
            pool_size=min(settings.concurrency, 16),
        )
        self.counts: Counter[str] = Counter()
        self._results: queue.SimpleQueue = queue.SimpleQueue()
        self._stopping = False  # a plain flag: set from a signal handler, read by the loop
        self._outstanding = 0  # jobs handed to the pool and not yet recorded (loop thread only)
        self._thread: threading.Thread | None = None

    @classmethod
    def from_config(cls, engine: Engine, config: Mapping[str, Any]) -> WebhookSender:
        return cls(engine, SenderSettings.from_config(config))

    # --- one try --------------------------------------------------------------------

    def send(self, job: Job) -> Outcome:
        """Send one job and classify the answer; never raises."""
        started = time.monotonic()
        http_status = retry_after = None
        try:
            timestamp = int(time.time())
            headers = signing.headers(job.secrets, job.event_id, timestamp, job.payload)
            answer = self.transport.post(job.url, job.payload, headers)
            http_status = answer.status
            error = None
            if not 200 <= http_status < 300:
                text = answer.body[:200].decode("utf-8", "replace")
                error = _short(f"The receiver answered {http_status}. {text}".strip())
                retry_after = parse_retry_after(answer.retry_after)
        except Exception as caught:  # every failure is a recorded try, never a crash
            if not isinstance(caught, ssrf.AddressRefused | urllib3.exceptions.HTTPError | OSError):
                log.exception("webhook delivery %s: unexpected error", job.id)
            error = describe(caught, self.settings.timeout_s)
        finished_at = utcnow()
        duration_ms = round((time.monotonic() - started) * 1000)
        kind = verdict(http_status)
        if kind == DeliveryStatus.DELIVERED:
            return Outcome(DeliveryStatus.DELIVERED, finished_at, duration_ms, http_status)
        if kind == RETRY and job.attempts < self.settings.max_attempts:
            s = self.settings
            delay = retry_delay(job.attempts, s.backoff_base_s, s.backoff_max_s, retry_after)
            next_at = finished_at + timedelta(seconds=delay)
            return Outcome(
                DeliveryStatus.PENDING, finished_at, duration_ms, http_status, error, next_at
            )
        if kind == RETRY:
            error = _short(f"Gave up after {job.attempts} attempts; the last: {error}")
        return Outcome(DeliveryStatus.FAILED, finished_at, duration_ms, http_status, error)

    def deliver_due(self, limit: int | None = None) -> int:
        """Claim one batch, send it, record it (no loop thread); return how many were sent."""
        jobs = self.queue.claim(limit or self.settings.batch_size)
        if jobs:
            with ThreadPoolExecutor(min(len(jobs), self.settings.concurrency)) as pool:
                outcomes = list(pool.map(self.send, jobs))
            self._record(list(zip(jobs, outcomes, strict=True)))
        return len(jobs)

    def purge_old(self) -> int:
        """Delete deliveries older than the retention (the worker's periodic purge calls it)."""
        cutoff = utcnow() - timedelta(days=self.settings.retention_days)
        return self.queue.purge(cutoff)

    # --- the loop -------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop claiming; the loop ends once in-flight tries are recorded. Signal-safe."""
        self._stopping = True
        self._results.put(_WAKE)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        s = self.settings
        capacity = s.concurrency + s.batch_size
        low_water = max(1, s.batch_size // 2)
        pool = ThreadPoolExecutor(max_workers=s.concurrency, thread_name_prefix="webhook-send")
        queued: dict[Future, Job] = {}
        log.info("webhook sender started: concurrency %d", s.concurrency)
        try:
            while not self._stopping:
                room = capacity - self._outstanding
                wanted = min(room, s.batch_size)
                jobs: list[Job] = []
                if room >= low_water:
                    try:
                        jobs = self.queue.claim(wanted)
                    except Exception as error:
                        log.error("webhook claim failed (%s); retrying", error)
                        self._collect(DB_RETRY_S, queued)
                        continue
                    for job in jobs:
                        self._outstanding += 1
                        future = pool.submit(self._send_one, job)
                        queued[future] = job
                        future.add_done_callback(lambda f: queued.pop(f, None))
                if jobs and len(jobs) == wanted:
                    self._collect(0, queued)
                    continue
                self._collect(self._idle_timeout(), queued)
        except Exception:
            log.exception("webhook sender loop crashed")
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            unsent = [job for future, job in list(queued.items()) if future.cancelled()]
            if unsent:
                self._outstanding -= len(unsent)
                try:
                    self.queue.release(unsent)
                except Exception as error:  # their leases expire; another worker sends them
                    log.error("could not release %d webhook deliveries: %s", len(unsent), error)
            pool.shutdown(wait=True)
            while self._outstanding > 0:
                self._collect(1.0, queued)
            self.transport.close()
            log.info("webhook sender stopped: %s", dict(self.counts))

    def _send_one(self, job: Job) -> None:
        self._results.put((job, self.send(job)))

    def _collect(self, timeout_s: float, queued: dict[Future, Job]) -> None:
        """Wait up to `timeout_s` for results, then record every one that is ready."""
        batch = []
        try:
            item = self._results.get(timeout=timeout_s) if timeout_s > 0 else None
            if item is None:
                item = self._results.get_nowait()
            while True:
                if item is not _WAKE:
                    batch.append(item)
                item = self._results.get_nowait()
        except queue.Empty:
            pass
        if batch:
            self._outstanding -= len(batch)
            self._record(batch)

    def _record(self, batch: list[tuple[Job, Outcome]]) -> None:
        try:
            self.queue.record_many(batch)
        except Exception as error:
            # The rows stay claimed: when their leases end they are sent again
            # (at least once; the receiver deduplicates by webhook-id).
            log.error("could not record %d webhook deliveries: %s", len(batch), error)
            return
        for _job, outcome in batch:
            counted = RETRY if outcome.status == DeliveryStatus.PENDING else outcome.status
            self.counts[counted] += 1
            record_webhook_delivery(counted)

    def _idle_timeout(self) -> float:
        if self._outstanding:
            return self.settings.poll_interval_s
        try:
            due_in = self.queue.next_due_in()
        except Exception:  # the database is down: poll; the claim will log it
            return self.settings.poll_interval_s
        if due_in is None:
            return self.settings.poll_interval_s
        return max(0.01, min(self.settings.poll_interval_s, due_in))

"""The dispatcher's steps one at a time, for tests that stage races and outcomes.

Production runs `Dispatcher.run()` (claim, a pool of senders, the recorder thread);
these helpers run the same steps synchronously, through the same public pieces
(`DeliveryQueue`, `Dispatcher.send`, `Dispatcher.release_instead`, `with_db_retry`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from notifier.worker.queue import Claim, with_db_retry
from notifier.worker.runner import Dispatcher


def dispatch_due(dispatcher: Dispatcher, limit: int | None = None) -> int:
    """Claim one batch, send it concurrently, record it; return how many were claimed."""
    settings = dispatcher.settings
    claims = dispatcher.queue.claim(limit or settings.batch_size)
    if not claims:
        return 0
    with ThreadPoolExecutor(max_workers=min(len(claims), settings.concurrency)) as pool:
        to_send = [claim for claim in claims if not dispatcher.release_instead(claim)]
        results = list(pool.map(dispatcher.send, to_send))
    with_db_retry(
        lambda: dispatcher.queue.record_many(list(zip(to_send, results, strict=True))),
        "record",
        [claim.id for claim in to_send],
        settings,
    )
    return len(claims)


def deliver(dispatcher: Dispatcher, claim: Claim) -> None:
    """Send one claim and record its result at once (no recorder thread)."""
    if dispatcher.release_instead(claim):
        return
    result = dispatcher.send(claim)
    with_db_retry(
        lambda: dispatcher.queue.record(claim, result), "record", [claim.id], dispatcher.settings
    )

"""When to try again after a failed try: the one backoff formula.

The dispatcher (`notifier.worker.policy`) and the webhook sender
(`notifier.webhooks.policy`) both wait by it. They differ only in how far a
`Retry-After` may push the wait, so each passes its own cap. Pure: the
standard library only, so either policy can import it without a cycle.
"""

from __future__ import annotations

import random
from collections.abc import Callable

# Exponents beyond this overflow nothing but mean "the cap" anyway.
MAX_BACKOFF_EXPONENT = 30


def exponential_backoff(
    attempts: int,
    base_s: float,
    max_s: float,
    retry_after_s: float | None = None,
    *,
    retry_after_cap_s: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before the next try, after `attempts` tries have failed.

    Exponential: the ceiling is `base_s * 2**(attempts - 1)`, capped at `max_s`.
    Equal jitter: the delay is uniform in `[ceiling/2, ceiling]`, so retries of
    many tries that failed together spread out, yet each still waits at least
    half its ceiling (full jitter could retry almost at once, which is no
    backoff at all for an overloaded peer). A `Retry-After` from the peer is a
    minimum, honoured up to `retry_after_cap_s` (which may be above or below `max_s`).
    """
    exponent = min(max(attempts, 1) - 1, MAX_BACKOFF_EXPONENT)
    ceiling = min(max_s, base_s * (2**exponent))
    delay = ceiling / 2 + rand() * ceiling / 2
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, retry_after_cap_s))
    return delay

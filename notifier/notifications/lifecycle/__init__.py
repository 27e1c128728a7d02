"""The notification's state machine: its states, its outcomes, and who moves it.

This package is the one owner of the `status` column. Every other module names a
state through `Status` (and an attempt's result through `Outcome`); a test fails
if a status word appears as a string anywhere else in `notifier/` (the migrations
keep their own frozen copies). The transitions::

                 claim                  record: sent
      pending ──────────► sending ─────────────────────────────► sent
       ▲  ▲  ◄── release ──┘ │ │   record: rejected, or unavailable
       │  │                  │ │   on the last attempt
       │  └──── retry ───────┘ └────────────────────────────────► failed
       │  (record: unavailable, after a backoff)                    │
       └──────────────────── edit (re-queue) ───────────────────────┘

      pending ──── cancel ────► cancelled   (final: no edit, no claim; delete still removes it)

    receipt (lifecycle.receipts): sent ──► delivered, or sent ──► failed; a
    receipt for a notification in any other state changes nothing.

    reclaim (a lease expired): `sending` again under a new lease, or
    `failed` when the lost try was the last one.

Where each one is written:

- the dispatcher's (claim, reclaim after a lease, release) in `lifecycle.claims`,
  recording a result in `lifecycle.results`; the worker's queue calls them;
- a caller's (create, edit/re-queue, cancel, delete) in `lifecycle.requests`, each one
  statement through `notifier.auth.ownership`; `notifications.service` calls them.

A transition that a webhook event announces (sent, failed, retrying, delivered) writes the
event into the outbox in its own transaction.

This module imports no model, so that the models can use the enums in their
constraints without an import cycle; the SQL lives in the submodules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    """Where a notification is in its life (the `status` column)."""

    PENDING = "pending"  # waiting for its time or its next try
    SENDING = "sending"  # claimed by a dispatcher, under a lease
    SENT = "sent"  # the provider accepted it
    FAILED = "failed"  # rejected, or out of attempts; editing re-queues it
    CANCELLED = "cancelled"  # cancelled while pending: never delivered, final
    DELIVERED = "delivered"  # a receipt said it reached the person (final)


class Outcome(StrEnum):
    """The result of one delivery attempt (the `outcome` column of an attempt)."""

    SENT = "sent"  # accepted by the provider
    REJECTED = "rejected"  # refused for good: retrying cannot help
    UNAVAILABLE = "unavailable"  # no usable answer: retry later with the same key


class BatchStatus(StrEnum):
    """Where a batch is, read from its notifications' statuses (`batch_status`)."""

    PENDING = Status.PENDING.value  # none of them claimed yet
    IN_PROGRESS = "in_progress"  # some claimed, some still pending or sending
    DONE = "done"  # nothing pending or sending
    CANCELLED = Status.CANCELLED.value  # cancelled (the ones being sent finished)


STATUSES: tuple[Status, ...] = tuple(Status)
OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)
# A notification can be edited (and so re-queued) only when no dispatcher holds it
# and it has not been sent.
EDITABLE_STATUSES: tuple[Status, ...] = (Status.PENDING, Status.FAILED)
# Only a notification no dispatcher has claimed can be cancelled (see `requests.cancel`).
CANCELLABLE_STATUSES: tuple[Status, ...] = (Status.PENDING,)
# Nothing more will happen to it unless a caller edits it (a failed one).
UNFINISHED_STATUSES: tuple[Status, ...] = (Status.PENDING, Status.SENDING)


def batch_status(counts: dict[str, int], claimed: bool, cancelled: bool) -> BatchStatus:
    """A batch's status from its notifications' `counts` by status; `claimed`: a
    dispatcher has taken at least one of them; `cancelled`: the batch was."""
    if cancelled:
        return BatchStatus.CANCELLED
    if not any(counts.get(status, 0) for status in UNFINISHED_STATUSES):
        return BatchStatus.DONE
    return BatchStatus.IN_PROGRESS if claimed else BatchStatus.PENDING


def sql_in(values: tuple[StrEnum, ...]) -> str:
    """`('a', 'b')` for a CHECK constraint: the enum's values as SQL string literals."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


@dataclass(frozen=True)
class NewState:
    """What one result writes to its notification (the policy decides, `results` writes).

    `next_attempt_at` None keeps the row's current value.
    """

    status: Status
    sent_at: datetime | None = None
    provider_message_id: str | None = None
    error_message: str | None = None
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class Attempt:
    """One row of a notification's delivery history (its number is given when written)."""

    notification_id: int
    started_at: datetime
    finished_at: datetime
    outcome: Outcome
    http_status: int | None
    error: str | None
    provider_message_id: str | None
    duration_ms: int

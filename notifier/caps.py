"""Caps per user (API keys, webhooks, templates): the one check, and it holds when creates race.

A service that creates a capped thing calls `ensure_room(CAP, user_id, Model.user_id)`
inside its `transaction()`, before its INSERT; over the cap it raises the 422.
Every create of the same user then queues on one lock, taken before counting and
held until the caller commits, so no two creates can both see room for one more.

Why a write, and why two statements:

- The lock is a write to the user's row that changes nothing. On PostgreSQL it
  takes the row's lock (`FOR NO KEY UPDATE`, which lets inserts that merely refer
  to the user, such as a new notification, go on). On SQLite it takes the
  database's write lock at once, and waits for it (the driver's busy timeout).
  `SELECT ... FOR UPDATE`, used before, locks nothing on SQLite: the clause is not
  rendered there and a SELECT takes no write lock, so racing creates each counted
  before any of them had inserted.
- The count is a statement of its own, after the lock. Under PostgreSQL's READ
  COMMITTED each statement reads a fresh snapshot, so it sees the rows the previous
  holder of the lock committed. A count inside the locking statement (`UPDATE ...
  RETURNING (SELECT count(*) ...)`, or `INSERT ... SELECT ... WHERE (SELECT count(*)
  ...) < cap`) would read the snapshot taken before its wait, and race again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlalchemy.orm import InstrumentedAttribute

from notifier.errors import unauthorized, unprocessable
from notifier.extensions import db
from notifier.users.models import User


@dataclass(frozen=True)
class Cap:
    """How many of a thing one user may have, and the 422 that refuses one more."""

    noun: str  # plural, as the message says it
    limit: int
    field: str  # the request body's field that the 422 names

    @property
    def message(self) -> str:
        return f"You already have {self.limit} {self.noun}; delete one first."


API_KEYS = Cap("API keys", 20, "name")
WEBHOOKS = Cap("webhooks", 10, "url")
TEMPLATES = Cap("templates", 1000, "name")

GONE = "The token's user no longer exists."

_users = User.__table__
# Sets a column to itself: nothing changes but the lock (see the module docstring).
_LOCK_USER = (
    update(_users)
    .where(_users.c.id == bindparam("cap_user_id"))
    .values(updated_at=_users.c.updated_at)
)


def ensure_room(
    cap: Cap, user_id: int, owner: InstrumentedAttribute[int], *counted: ColumnElement[bool]
) -> None:
    """422 (`cap.field`, `cap.message`) if the user already has `cap.limit` rows
    whose `owner` column (e.g. `ApiKey.user_id`) is `user_id` (and that match
    `counted`, e.g. only templates not deleted).

    Call it inside the caller's `transaction()`, before the INSERT, and insert in
    the same transaction: the user's lock is held until that commits. Two
    statements: the lock, then the count. A user deleted meanwhile is a 401, as
    their credential no longer is valid.
    """
    if db.session.execute(_LOCK_USER, {"cap_user_id": user_id}).rowcount != 1:
        raise unauthorized(GONE)
    count = db.session.scalar(select(func.count()).where(owner == user_id, *counted))
    if count >= cap.limit:
        raise unprocessable(cap.field, cap.message)

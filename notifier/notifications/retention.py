"""What the worker deletes on its schedule, for no caller: idempotency keys past their TTL.

Apart from `idempotency` (the callers' reads and writes, through
`notifier.auth.ownership`), so that the dispatcher can purge without loading
the API's authentication.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from notifier.database import transaction
from notifier.extensions import db
from notifier.notifications.models import IdempotencyKey


def purge_idempotency_keys(older_than: datetime) -> int:
    """Delete every user's keys created before `older_than`; return how many.

    Maintenance for the worker's schedule, on no caller's behalf: the one
    statement of the notification modules outside `notifier.auth.ownership`.
    """
    with transaction():
        result = db.session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < older_than)
        )
    return result.rowcount

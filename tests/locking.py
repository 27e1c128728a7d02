"""Race tests on PostgreSQL: a call that must wait for another transaction's row lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import RootTransaction

from notifier.extensions import db

# Sessions that `holder` blocks (pg_blocking_pids: lock waits only).
BLOCKED_BY = text(
    "SELECT count(*) FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))"
)


def answer_after_commit(
    transaction: RootTransaction, call: Callable[[], Any], waits_for: str
) -> Any:
    """Start `call` in a thread while `transaction` holds its row locks; check that it
    waits (`waits_for` names what it waits for), commit, and return its answer."""
    holder = transaction.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    answers: list[Any] = []
    caller = threading.Thread(target=lambda: answers.append(call()))
    caller.start()
    _until_blocked_or_done(caller, holder, timeout_s=1.0)
    assert caller.is_alive(), f"the call should wait for {waits_for}"
    transaction.commit()
    caller.join(timeout=10)
    assert len(answers) == 1, "the call did not finish after the commit"
    return answers[0]


def _until_blocked_or_done(caller: threading.Thread, holder: int, timeout_s: float) -> None:
    """Return once a session waits for `holder`'s locks, once `caller` has ended, or after
    timeout_s: a fixed wait (the former 1 s) proved no more and cost every race test."""
    deadline = time.monotonic() + timeout_s
    while caller.is_alive() and time.monotonic() < deadline:
        with db.engine.connect() as connection:
            if connection.execute(BLOCKED_BY, {"holder": holder}).scalar_one():
                return
        time.sleep(0.01)

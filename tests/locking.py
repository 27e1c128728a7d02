"""Race tests on PostgreSQL: a call that must wait for another transaction's row lock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import RootTransaction


def answer_after_commit(
    transaction: RootTransaction, call: Callable[[], Any], waits_for: str
) -> Any:
    """Start `call` in a thread while `transaction` holds its row locks; check that it
    waits (`waits_for` names what it waits for), commit, and return its answer."""
    answers: list[Any] = []
    caller = threading.Thread(target=lambda: answers.append(call()))
    caller.start()
    caller.join(timeout=1.0)
    assert caller.is_alive(), f"the call should wait for {waits_for}"
    transaction.commit()
    caller.join(timeout=10)
    assert len(answers) == 1, "the call did not finish after the commit"
    return answers[0]

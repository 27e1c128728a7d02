"""How a target is matched against suppressions, in Python and in SQL.

A target's key is the normalised target, lowercased for email (matching ignores
case); an entry stores the key's SHA-256 (uniqueness) and its first 255
characters (the lookup index). `suppressed_condition` is the SQL test "this
notification's target is suppressed for its user", built on the columns of any
table that has `user_id`, `channel` and `target`: the dispatcher's claim uses it
so that a pending notification whose target became suppressed is not sent.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import ColumnElement, Connection, case, exists, func, select

from notifier.suppressions.models import Suppression

suppressions = Suppression.__table__
_s = suppressions.c
PREFIX = 255


def target_key(channel: str, target: str) -> str:
    """What matching compares: an email address lowercased, other targets as they are."""
    return target.lower() if channel == "email" else target


def key_columns(channel: str, target: str) -> dict[str, str]:
    """The stored matching columns of an entry for this (normalised) target."""
    key = target_key(channel, target)
    return {
        "target_prefix": key[:PREFIX],
        "target_hash": hashlib.sha256(key.encode()).hexdigest(),
    }


def suppressed_condition(user_id, channel, target) -> ColumnElement[bool]:
    """EXISTS an entry of `user_id` for (`channel`, `target`): one index probe.

    `ix_suppressions_lookup` (user_id, channel, target_prefix) finds the
    candidates; the full key is compared on them.
    """
    key = case((channel == "email", func.lower(target)), else_=target)
    return exists().where(
        _s.user_id == user_id,
        _s.channel == channel,
        _s.target_prefix == func.substr(key, 1, PREFIX),
        case((_s.channel == "email", func.lower(_s.target)), else_=_s.target) == key,
    )


def suppressed_among(
    connection: Connection, user_id: int, channel: str, targets: set[str]
) -> dict[str, str]:
    """Which of these normalised targets the user's list holds, each with its entry's
    reason: one read of the user's entries for the channel (a batch's recipients are
    matched in memory, not with one probe each)."""
    if not targets:
        return {}
    reasons = dict(
        connection.execute(
            select(_s.target_hash, _s.reason).where(_s.user_id == user_id, _s.channel == channel)
        ).all()
    )
    if not reasons:
        return {}
    found = {}
    for target in targets:
        reason = reasons.get(key_columns(channel, target)["target_hash"])
        if reason is not None:
            found[target] = reason
    return found

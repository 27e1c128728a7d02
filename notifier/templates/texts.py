"""The texts of template versions, remembered per process, and the condition under
which a send may use one.

A version's channel, title and content never change once written, and a template
id is never given twice, so a process may keep them by (template id, version) for
good. What does change is whether the template still exists and which version is
current: a send never takes that from memory. It puts `still_usable()` into the
INSERT of its notification, so the check is inside the one statement that writes
(no round trip of its own), and when that insert matches nothing it looks the
template up afresh (`messages.render_for_send(..., fresh=True)`).

Kept in `current_app.extensions`, per app (tests build several), bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

from flask import current_app
from sqlalchemy import BindParameter, ColumnElement, Integer, bindparam, exists

from notifier.templates.models import Template

_SIZE = 256
_TEMPLATES = Template.__table__
# Bind parameters of `still_usable`: names no notification column has.
LIVE_TEMPLATE_ID = "live_template_id"
MIN_VERSION = "live_template_min_version"
MAX_VERSION = "live_template_max_version"
HIGHEST_VERSION = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Text:
    """One version of a template, as it renders."""

    channel: str
    version: int
    title: str
    content: str


def still_usable(owner: BindParameter) -> ColumnElement[bool]:
    """The caller's template `LIVE_TEMPLATE_ID` exists, is not deleted, and its
    current version lies between MIN_VERSION and MAX_VERSION: equal to the version
    rendered for a send of the current version; at least the pinned one (every
    version up to the current one exists) for a send that names its version."""
    return exists().where(
        _TEMPLATES.c.id == bindparam(LIVE_TEMPLATE_ID, type_=_TEMPLATES.c.id.type),
        _TEMPLATES.c.user_id == owner,
        _TEMPLATES.c.deleted_at.is_(None),
        _TEMPLATES.c.version.between(
            bindparam(MIN_VERSION, type_=Integer()), bindparam(MAX_VERSION, type_=Integer())
        ),
    )


def usable_params(template_id: int, version: int, pinned: bool) -> dict[str, int]:
    """The values of `still_usable`'s parameters for a send of `version`."""
    return {
        LIVE_TEMPLATE_ID: template_id,
        MIN_VERSION: version,
        MAX_VERSION: HIGHEST_VERSION if pinned else version,
    }


def remembered(user_id: int, template_id: int, version: int | None) -> Text | None:
    """The text of that version (None: the last current version seen), if known."""
    texts, current, lock = _memory()
    with lock:
        if version is None:
            version = current.get((user_id, template_id))
        text = texts.get((user_id, template_id, version))
        if text is not None:
            texts.move_to_end((user_id, template_id, version))
        return text


def remember(user_id: int, template_id: int, text: Text, *, current: bool) -> None:
    """Keep a version read from the database; `current`: it was the current one."""
    texts, currents, lock = _memory()
    with lock:
        texts[(user_id, template_id, text.version)] = text
        if len(texts) > _SIZE:
            texts.popitem(last=False)
        if current:
            if len(currents) >= _SIZE:
                currents.clear()
            currents[(user_id, template_id)] = text.version


def _memory() -> tuple[OrderedDict, dict, Lock]:
    memory = current_app.extensions.get("notifier_template_texts")
    if memory is None:
        memory = current_app.extensions.setdefault(
            "notifier_template_texts", (OrderedDict(), {}, Lock())
        )
    return memory

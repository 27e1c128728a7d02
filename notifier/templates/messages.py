"""The messages a template makes: preview, and the text of a send.

Preview and sends go through `render_version()`: the same lookup (one statement
through `notifier.auth.ownership`, so it carries the caller's ownership and
validity check) and the same renderer (`rendering.render`), so a preview
answers exactly what a send would store. Batches are to call it too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, RowMapping, and_, bindparam, func, select

from notifier import channels
from notifier.auth.ownership import nothing_matched, owned, run
from notifier.errors import not_found, unprocessable
from notifier.templates import rendering
from notifier.templates.models import Template, TemplateVersion
from notifier.templates.service import NOT_FOUND

_TEMPLATES = Template.__table__
_VERSIONS = TemplateVersion.__table__


def _version_to_render(owner, valid):
    """The caller's live template and the asked version (its current one when the
    parameter is null); the version columns are null when it has no such version."""
    number = func.coalesce(bindparam("version", type_=Integer()), _TEMPLATES.c.version)
    return (
        select(_TEMPLATES.c.channel, _VERSIONS.c.version, _VERSIONS.c.title, _VERSIONS.c.content)
        .select_from(
            _TEMPLATES.outerjoin(
                _VERSIONS,
                and_(_VERSIONS.c.template_id == _TEMPLATES.c.id, _VERSIONS.c.version == number),
            )
        )
        .where(
            _TEMPLATES.c.id == bindparam("template_id"),
            _TEMPLATES.c.user_id == owner,
            _TEMPLATES.c.deleted_at.is_(None),
            valid,
        )
    )


VERSION_TO_RENDER = owned(_version_to_render, "templates.version_to_render")


def render_version(
    template_id: int,
    version: int | None,
    personalisation: dict,
    *,
    template_field: str,
    version_field: str,
    missing: Any,
    unsubscribe_url: str | None = None,
) -> tuple[RowMapping, rendering.Rendered]:
    """Look up the caller's template version and render it: `(row, rendered)`.

    `missing` is the error for a template that is not the caller's (or deleted):
    a 404 for a preview, a 422 on `template_field` for a send. An unknown
    version is a 422 on `version_field`; values that cannot make a message, a
    422 on `personalisation`.
    """
    row = run(
        VERSION_TO_RENDER,
        {"template_id": template_id, "version": version},
        lambda result: result.mappings().first(),
    )
    if row is None:
        raise nothing_matched(missing)
    if row["version"] is None:
        raise unprocessable(version_field, f"The template has no version {version}.")
    try:
        rendered = rendering.render(
            row["channel"],
            row["title"],
            row["content"],
            personalisation,
            rendering.service_values(unsubscribe_url),
        )
    except rendering.TemplateSyntaxError as error:  # a stored text no longer parses
        raise unprocessable(template_field, f"The template cannot be rendered: {error}") from None
    except rendering.RenderError as error:
        raise unprocessable("personalisation", error.message) from None
    return row, rendered


def render_for_send(data: dict) -> dict[str, Any]:
    """The fields a send with `template_id` stores: the rendered `title` and
    `content`, the template's `channel`, and `template_id`/`template_version`."""
    row, rendered = render_version(
        data["template_id"],
        data.get("template_version"),
        data.get("personalisation") or {},
        template_field="template_id",
        version_field="template_version",
        missing=unprocessable("template_id", "You have no template with this id."),
    )
    return {
        "channel": row["channel"],
        "title": rendered.title,
        "content": rendered.content,
        "template_id": data["template_id"],
        "template_version": row["version"],
    }


def preview(template_id: int, data: dict) -> dict[str, Any]:
    """What a send with these values would store, without sending."""
    row, rendered = render_version(
        template_id,
        data.get("version"),
        data["personalisation"],
        template_field="template_id",
        version_field="version",
        missing=not_found(NOT_FOUND),
    )
    return {
        "channel": row["channel"],
        "version": row["version"],
        "title": rendered.title,
        "content": rendered.content,
        "details": details(row["channel"], rendered),
    }


def details(channel: str, rendered: rendering.Rendered) -> dict[str, Any]:
    """What the delivery service would report: sms encoding and segments, push size."""
    if channel == channels.SMS:
        encoding, segments = channels.sms_segments(rendered.content)
        return {"encoding": encoding, "segments": segments}
    if channel == channels.PUSH:
        return {"payload_bytes": channels.push_payload_size(rendered.title, rendered.content)}
    return {}

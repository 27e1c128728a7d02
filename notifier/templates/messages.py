"""The messages a template makes: preview, and the text of a send.

Preview and sends render with `_render()` (the one renderer, `rendering.render`)
the text `_lookup()` reads (one statement through `notifier.auth.ownership`, so
it carries the caller's ownership and validity check), so a preview answers
exactly what a send would store. A send may take the text from `texts` (the
versions this process remembers) and checks in its INSERT that the template is
still live at that version. A batch takes the text once (`text_for_send`),
compiles it (`rendering.compiled`) and renders each recipient with it, each with
its own link from `unsubscribe_links`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Integer, and_, bindparam, func, select

from notifier import channels
from notifier.auth.ownership import nothing_matched, owned, run
from notifier.auth.principal import current_principal
from notifier.errors import not_found, unprocessable
from notifier.suppressions import tokens
from notifier.templates import rendering, texts
from notifier.templates.models import Template, TemplateVersion
from notifier.templates.service import NOT_FOUND
from notifier.templates.texts import Text

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


def _lookup(template_id: int, version: int | None, *, missing, version_field: str) -> Text:
    """The caller's live template at `version` (None: its current one).

    `missing` is the error for a template that is not the caller's (or deleted):
    a 404 for a preview, a 422 on `template_id` for a send; 401 instead when the
    credential is no longer valid. An unknown version is a 422 on `version_field`.
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
    return Text(row["channel"], row["version"], row["title"], row["content"])


def render_text(
    text: Text, personalisation: dict, unsubscribe_url: str | None = None
) -> rendering.Rendered:
    """The one renderer on a template's text; its own errors (RenderError,
    TemplateSyntaxError)."""
    return rendering.render(
        text.channel,
        text.title,
        text.content,
        personalisation,
        rendering.service_values(unsubscribe_url),
    )


def _render(
    text: Text, personalisation: dict, unsubscribe_url: str | None = None
) -> rendering.Rendered:
    """The one renderer, its errors as 422s (values: on `personalisation`)."""
    try:
        return render_text(text, personalisation, unsubscribe_url)
    except rendering.TemplateSyntaxError as error:  # a stored text no longer parses
        raise unprocessable("template_id", f"The template cannot be rendered: {error}") from None
    except rendering.RenderError as error:
        raise unprocessable("personalisation", error.message) from None


def text_for_send(template_id: int, pinned: int | None, *, fresh: bool = False) -> Text:
    """The text a send of `template_id` (at version `pinned`, None: the current
    one) renders: remembered by this process, or read (`fresh`: always read).
    422 on `template_id` if the caller has no such live template, on
    `template_version` for an unknown version."""
    user_id = current_principal().user_id
    text = None if fresh else texts.remembered(user_id, template_id, pinned)
    if text is None:
        text = _lookup(
            template_id,
            pinned,
            missing=unprocessable("template_id", "You have no template with this id."),
            version_field="template_version",
        )
        texts.remember(user_id, template_id, text, current=pinned is None)
    return text


def render_for_send(data: dict, *, fresh: bool = False) -> dict[str, Any]:
    """The fields a send with `template_id` stores: the rendered `title` and
    `content`, the template's `channel`, `template_id` and `template_version`,
    and under `template_check` the parameters of `texts.still_usable`, which the
    INSERT must hold (see `texts`). `fresh`: read the template from the database
    even if this process remembers its text (the insert found it stale)."""
    template_id, pinned = data["template_id"], data.get("template_version")
    text = text_for_send(template_id, pinned, fresh=fresh)
    rendered = _render(text, data.get("personalisation") or {}, _unsubscribe_url(data, text))
    return {
        "channel": text.channel,
        "title": rendered.title,
        "content": rendered.content,
        "template_id": template_id,
        "template_version": text.version,
        "template_check": texts.usable_params(template_id, text.version, pinned is not None),
    }


def unsubscribe_links(text: Text, wanted: bool) -> Callable[[str], str] | None:
    """The caller's link for each normalised target of a send of `text`, for
    `{{ unsubscribe_url }}`: the link the notification will carry (its answer's
    `unsubscribe_url`, its List-Unsubscribe header). None when it carries none."""
    principal = current_principal()
    return tokens.current_linker(principal.user_id, text.channel, bool(wanted), principal.sandbox)


def _unsubscribe_url(data: dict, text: Text) -> str | None:
    """The link the notification will carry, for `{{ unsubscribe_url }}` (None: none).

    Derived from the normalised target, as the notification's own is; a target
    that does not normalise gets none here and is refused by the send's checks.
    """
    link_of = unsubscribe_links(text, data.get("unsubscribe", False))
    if link_of is None:
        return None
    try:
        target = channels.normalize_target(text.channel, data["target"])
    except channels.ChannelError:
        return None
    return link_of(target)


def preview(template_id: int, data: dict) -> dict[str, Any]:
    """What a send with these values would store, without sending."""
    text = _lookup(
        template_id, data.get("version"), missing=not_found(NOT_FOUND), version_field="version"
    )
    rendered = _render(text, data["personalisation"])
    return {
        "channel": text.channel,
        "version": text.version,
        "title": rendered.title,
        "content": rendered.content,
        "details": details(text.channel, rendered),
    }


def details(channel: str, rendered: rendering.Rendered) -> dict[str, Any]:
    """What the delivery service would report: sms encoding and segments, push size."""
    if channel == channels.SMS:
        encoding, segments = channels.sms_segments(rendered.content)
        return {"encoding": encoding, "segments": segments}
    if channel == channels.PUSH:
        return {"payload_bytes": channels.push_payload_size(rendered.title, rendered.content)}
    return {}

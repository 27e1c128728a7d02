"""Template use cases: create, list, read, change, delete, versions.

Every function acts for the caller: another user's template, or a deleted one,
is not found, exactly like one that does not exist. Writes hold the template's
row lock while they read and change it, and write the new version row in the
same transaction; a version row is never changed afterwards.

The messages a template makes (preview and sends) are in `messages`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from notifier import caps
from notifier.database import transaction, utcnow
from notifier.errors import conflict, not_found, unprocessable
from notifier.extensions import db
from notifier.templates import rendering
from notifier.templates.models import Template, TemplateVersion

NOT_FOUND = "Template not found."
VERSION_NOT_FOUND = "Template version not found."
TEXT_FIELDS = ("title", "content")


def template_body(template: Template) -> dict[str, Any]:
    return {
        "id": template.id,
        "name": template.name,
        "channel": template.channel,
        "title": template.title,
        "content": template.content,
        "version": template.version,
        "placeholders": rendering.placeholders(template.title, template.content),
        "created_at": template.created_at,
        "updated_at": template.updated_at,
    }


def version_body(version: TemplateVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "title": version.title,
        "content": version.content,
        "placeholders": rendering.placeholders(version.title, version.content),
        "created_at": version.created_at,
    }


def _owned(user_id: int, template_id: int, lock: bool = False) -> Template:
    """The caller's live template (404 otherwise), locked for a write if asked."""
    statement = select(Template).where(
        Template.id == template_id, Template.user_id == user_id, Template.deleted_at.is_(None)
    )
    if lock:
        statement = statement.with_for_update()
    template = db.session.scalars(statement).first()
    if template is None:
        raise not_found(NOT_FOUND)
    return template


def create_template(user_id: int, data: dict) -> dict[str, Any]:
    with transaction():
        caps.ensure_room(caps.TEMPLATES, user_id, Template.user_id, Template.deleted_at.is_(None))
        now = utcnow()
        template = Template(
            user_id=user_id,
            name=data["name"],
            channel=data["channel"],
            title=data["title"],
            content=data["content"],
            version=1,
            created_at=now,
            updated_at=now,
        )
        db.session.add(template)
        db.session.flush()
        db.session.add(_version_of(template, now))
        db.session.flush()
        return template_body(template)


def _version_of(template: Template, now) -> TemplateVersion:
    return TemplateVersion(
        template_id=template.id,
        version=template.version,
        title=template.title,
        content=template.content,
        created_at=now,
    )


def list_templates(
    user_id: int, filters: dict, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the caller's live templates, newest first, and their total."""
    conditions = [Template.user_id == user_id, Template.deleted_at.is_(None)]
    if "channel" in filters:
        conditions.append(Template.channel == filters["channel"])
    with transaction():
        total = db.session.scalar(select(func.count()).select_from(Template).where(*conditions))
        templates = db.session.scalars(
            select(Template)
            .where(*conditions)
            .order_by(Template.created_at.desc(), Template.id.desc())
            # Any offset that large is past the end (at most 1000 templates).
            .offset(min((page - 1) * page_size, 2**62))
            .limit(page_size)
        )
        return [template_body(template) for template in templates], total


def get_template(user_id: int, template_id: int) -> dict[str, Any]:
    with transaction():
        return template_body(_owned(user_id, template_id))


def update_template(user_id: int, template_id: int, data: dict) -> dict[str, Any]:
    """PUT or PATCH (the schema decides which fields are required).

    `channel` may be sent only with its current value. A new version is written
    when `title` or `content` changes; a rename alone keeps the version.
    """
    try:
        with transaction():
            template = _owned(user_id, template_id, lock=True)
            if "channel" in data and data["channel"] != template.channel:
                raise unprocessable(
                    "channel",
                    f"The channel is fixed at creation ({template.channel}); "
                    "create another template for another channel.",
                )
            now = utcnow()
            text_changed = any(
                name in data and data[name] != getattr(template, name) for name in TEXT_FIELDS
            )
            renamed = "name" in data and data["name"] != template.name
            if renamed:
                template.name = data["name"]
            if text_changed:
                template.title = data.get("title", template.title)
                template.content = data.get("content", template.content)
                template.version += 1
                db.session.add(_version_of(template, now))
            if renamed or text_changed:
                template.updated_at = now
            db.session.flush()
            return template_body(template)
    except IntegrityError:
        # Another edit wrote this version number first (SQLite has no row lock).
        raise conflict("The template changed while it was being edited; try again.") from None


def delete_template(user_id: int, template_id: int) -> None:
    """Mark it deleted: it can no longer be read or sent, its id is never reused,
    and notifications made from it keep their text."""
    with transaction():
        template = _owned(user_id, template_id, lock=True)
        template.deleted_at = utcnow()


def list_versions(user_id: int, template_id: int) -> list[dict[str, Any]]:
    with transaction():
        _owned(user_id, template_id)
        versions = db.session.scalars(
            select(TemplateVersion)
            .where(TemplateVersion.template_id == template_id)
            .order_by(TemplateVersion.version.desc())
        )
        return [version_body(version) for version in versions]


def get_version(user_id: int, template_id: int, number: int) -> dict[str, Any]:
    with transaction():
        _owned(user_id, template_id)
        version = db.session.scalars(
            select(TemplateVersion).where(
                TemplateVersion.template_id == template_id, TemplateVersion.version == number
            )
        ).first()
        if version is None:
            raise not_found(VERSION_NOT_FOUND)
        return version_body(version)

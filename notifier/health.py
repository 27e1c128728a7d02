"""Routes: `GET /` (where to go), `GET /health` (liveness, no I/O) and `GET /ready`
(database and schema).

`/ready` answers 200 only when the database answers and its schema is at the
revision this code was written for (`notifier.migrate.HEAD_REVISION`) or a
later one (a newer release's, during a rolling upgrade): a database that was
never migrated, or is behind, would answer every route with an error. One
query reads `alembic_version`; Alembic is not imported.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import ServiceUnavailable

from notifier.database import autocommit
from notifier.migrate import HEAD_REVISION
from notifier.web import BaseSchema, Blueprint, http_error

blp = Blueprint("health", __name__, description="Liveness and readiness")

_SCHEMA_REVISION = text("SELECT version_num FROM alembic_version")
_PING = text("SELECT 1")


class StatusSchema(BaseSchema):
    status = fields.String(dump_only=True, validate=validate.OneOf(["ok"]))


class IndexSchema(BaseSchema):
    name = fields.String(dump_only=True)
    docs = fields.String(dump_only=True, metadata={"description": "Swagger UI"})
    openapi = fields.String(dump_only=True, metadata={"description": "The OpenAPI document"})
    health = fields.String(dump_only=True)
    ready = fields.String(dump_only=True)


INDEX = {
    "name": "notifier",
    "docs": "/docs",
    "openapi": "/openapi.json",
    "health": "/health",
    "ready": "/ready",
}


@blp.route("/")
class Index(MethodView):
    @blp.doc(security=[])
    @blp.response(200, IndexSchema)
    def get(self):
        """Where to start: links to the API docs, the OpenAPI document and the health checks"""
        return INDEX


@blp.route("/health")
class Health(MethodView):
    @blp.doc(security=[])
    @blp.response(200, StatusSchema)
    def get(self):
        """Liveness: the process answers (no I/O)"""
        return {"status": "ok"}


@blp.route("/ready")
class Ready(MethodView):
    @blp.doc(security=[])
    @blp.response(200, StatusSchema)
    @blp.alt_response(
        503, description="The database does not answer, or its schema is not migrated"
    )
    def get(self):
        """Readiness: the database answers and its schema is at this version's head"""
        problem = schema_problem()
        if problem is not None:
            raise http_error(ServiceUnavailable, problem)
        return {"status": "ok"}


def schema_problem() -> str | None:
    """Why this code cannot use the database now (a sentence), or None when it can.

    `/ready` answers it as a 503, and `flask wait-for-schema` (Kubernetes' init
    containers) polls it until the migrations have run.
    """
    revisions = _schema_revisions()
    if revisions is None:
        return "The database is unreachable."
    if not (len(revisions) == 1 and at_or_after_head(revisions[0])):
        found = ", ".join(revisions) or "none"
        return (
            f"The database schema is at revision {found}, not {HEAD_REVISION}: "
            "run the migrations (flask db upgrade)."
        )
    return None


def at_or_after_head(revision: str) -> bool:
    """True for this code's head and for the later revisions of a newer release.

    Revisions are numbered in order (a test holds every migration to it), and a
    migration keeps the previous release working (docs/development.md), so old
    pods stay ready while a rolling upgrade's migration Job runs ahead of them.
    """
    return revision.isdigit() and len(revision) == len(HEAD_REVISION) and revision >= HEAD_REVISION


def _schema_revisions() -> list[str] | None:
    """The revisions in `alembic_version`; none when the table is missing, None when
    the database does not answer."""
    try:
        with autocommit() as connection:
            return list(connection.execute(_SCHEMA_REVISION).scalars())
    except SQLAlchemyError:
        pass
    # Only on failure: tell a database that answers without the table from one
    # that does not answer at all.
    try:
        with autocommit() as connection:
            connection.execute(_PING)
    except SQLAlchemyError:
        return None
    return []

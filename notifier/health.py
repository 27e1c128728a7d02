"""Routes: `GET /health` (liveness, no I/O) and `GET /ready` (database and schema).

`/ready` answers 200 only when the database answers and its schema is at the
revision this code was written for (`notifier.migrate.HEAD_REVISION`): a
database that was never migrated, or is behind, would answer every route with
an error. One query reads `alembic_version`; Alembic is not imported.
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
        revisions = _schema_revisions()
        if revisions != [HEAD_REVISION]:
            found = ", ".join(revisions) or "none"
            raise http_error(
                ServiceUnavailable,
                f"The database schema is at revision {found}, not {HEAD_REVISION}: "
                "run the migrations (flask db upgrade).",
            )
        return {"status": "ok"}


def _schema_revisions() -> list[str]:
    """The revisions in `alembic_version`; none when the table is missing."""
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
        raise http_error(ServiceUnavailable, "The database is unreachable.") from None
    return []

"""Routes: `GET /health` (liveness, no I/O) and `GET /ready` (database ping)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import ServiceUnavailable

from notifier.errors import http_error
from notifier.extensions import Blueprint, db
from notifier.schemas import BaseSchema

blp = Blueprint("health", __name__, description="Liveness and readiness")


class StatusSchema(BaseSchema):
    status = fields.String(dump_only=True)


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
    @blp.alt_response(503, description="The database does not answer")
    def get(self):
        """Readiness: the database answers"""
        try:
            db.session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            db.session.rollback()
            raise http_error(ServiceUnavailable, "The database is unreachable.") from None
        finally:
            db.session.remove()
        return {"status": "ok"}

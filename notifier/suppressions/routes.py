"""Routes under `/suppressions`: the caller's list of targets not to send to."""

from __future__ import annotations

from flask.views import MethodView

from notifier.auth.principal import auth_required, current_principal
from notifier.suppressions import service
from notifier.suppressions.schemas import (
    SuppressionCreateSchema,
    SuppressionQuerySchema,
    SuppressionSchema,
)
from notifier.web import Blueprint

READ, WRITE = "notifications:read", "notifications:write"

blp = Blueprint(
    "suppressions",
    __name__,
    url_prefix="/suppressions",
    description="Targets that are not sent to again",
)


@blp.route("")
class Suppressions(MethodView):
    @auth_required(scope=READ)
    @blp.arguments(SuppressionQuerySchema(), location="query")
    @blp.response(200, SuppressionSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """List your suppressed targets, newest first

        Filter by `channel`, or by `channel` and `target`. The `X-Pagination`
        header holds the totals.
        """
        items, total = service.list_page(
            current_principal().user_id,
            filters,
            pagination_parameters.page,
            pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return items

    @auth_required(scope=WRITE)
    @blp.arguments(SuppressionCreateSchema())
    @blp.response(201, SuppressionSchema)
    @blp.alt_response(200, schema=SuppressionSchema, description="It was already suppressed")
    def post(self, data):
        """Suppress a target: nothing is sent to it until the entry is deleted

        Answers 201 with the new entry, or 200 with the entry already there.
        """
        entry, created = service.create(current_principal().user_id, data)
        return entry, 201 if created else 200


@blp.route("/<id:suppression_id>")
class SuppressionById(MethodView):
    @auth_required(scope=WRITE)
    @blp.response(204)
    def delete(self, suppression_id):
        """Lift a suppression: the target may be sent to again"""
        service.remove(current_principal().user_id, suppression_id)

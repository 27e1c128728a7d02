"""Routes under `/batches`: every statement is the caller's (notifier.auth.ownership).

The API-key scopes are those of notifications: `notifications:send` to create a
batch, `notifications:read` to read, `notifications:write` to cancel. This is
the one route that takes bodies up to `BATCH_MAX_CONTENT_LENGTH` (16 MiB).
"""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView

from notifier.auth.principal import auth_required
from notifier.batches import service
from notifier.batches.schemas import BatchCreateSchema, BatchSchema
from notifier.notifications.routes import READ, SEND, WRITE
from notifier.notifications.schemas import IdempotencyHeaderSchema
from notifier.openapi import CONFLICT
from notifier.web import Blueprint

blp = Blueprint(
    "batches",
    __name__,
    url_prefix="/batches",
    description="One template sent to many recipients in one request",
)


@blp.route("")
class Batches(MethodView):
    # Up to 50 000 recipients: this route's bodies may be up to 16 MiB (read by
    # notifier.web's body limit, whose name for this attribute is BODY_LIMIT_SETTING).
    BODY_LIMIT_SETTING = "BATCH_MAX_CONTENT_LENGTH"

    @auth_required(checked_in_statement=True, scope=READ)
    @blp.response(200, BatchSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """List your batches, newest first

        Page with `page` and `page_size` (at most 100); the `X-Pagination` header
        holds the totals.
        """
        items, total = service.list_batches(
            pagination_parameters.page, pagination_parameters.page_size
        )
        pagination_parameters.item_count = total
        return jsonify(items)

    @auth_required(checked_in_statement=True, scope=SEND)
    @blp.arguments(IdempotencyHeaderSchema(), location="headers")
    @blp.arguments(BatchCreateSchema())
    @blp.response(201, BatchSchema)
    @blp.alt_response(409, response=CONFLICT)
    def post(self, headers, data):
        """Send a template to many recipients: one notification each

        Give `recipients` (a list) or `csv` (a header line with a `target` column).
        All or nothing: if any recipient is invalid, nothing is created and the
        errors name each invalid row. Send an `Idempotency-Key` header to make
        retries safe.
        """
        body, replayed = service.create_batch(data, headers.get("idempotency_key"))
        response_headers = {"Location": f"/batches/{body['id']}"}
        if replayed:
            response_headers["Idempotent-Replayed"] = "true"
        return jsonify(body), 201, response_headers


@blp.route("/<id:batch_id>")
class BatchById(MethodView):
    @auth_required(checked_in_statement=True, scope=READ)
    @blp.response(200, BatchSchema)
    def get(self, batch_id):
        """Get one batch, its counts current"""
        return jsonify(service.get_batch(batch_id))


@blp.route("/<id:batch_id>/cancel")
class CancelBatch(MethodView):
    @auth_required(checked_in_statement=True, scope=WRITE)
    @blp.response(200, BatchSchema)
    def post(self, batch_id):
        """Cancel a batch: its pending notifications are never sent

        The ones being sent finish. Cancelling again changes nothing.
        """
        return jsonify(service.cancel_batch(batch_id))

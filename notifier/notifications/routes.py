"""Routes under `/notifications`: every statement is the caller's (notifier.auth.ownership).

Each route names the API-key scope it needs: `notifications:send` to create,
`notifications:read` to read, `notifications:write` to edit or delete.
"""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView

from notifier.auth.principal import auth_required
from notifier.notifications import service
from notifier.notifications.schemas import (
    DeliveryAttemptSchema,
    IdempotencyHeaderSchema,
    NotificationCreateSchema,
    NotificationPatchSchema,
    NotificationQuerySchema,
    NotificationSchema,
    NotificationSendSchema,
)
from notifier.openapi import CONFLICT
from notifier.web import Blueprint

READ, SEND, WRITE = "notifications:read", "notifications:send", "notifications:write"

blp = Blueprint(
    "notifications", __name__, url_prefix="/notifications", description="Your notifications"
)


@blp.route("")
class Notifications(MethodView):
    @auth_required(checked_in_statement=True, scope=READ)
    @blp.arguments(NotificationQuerySchema(), location="query")
    @blp.response(200, NotificationSchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters):
        """List your notifications, newest first

        Filter by `status`, `channel`, `sandbox`, `batch_id`, `template_id` and `reference`;
        page with `page` and `page_size` (at most 100).
        The `X-Pagination` header holds the totals.
        """
        items, total = service.list_notifications(
            filters,
            pagination_parameters.page,
            pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        # Bodies built by notification_body: a Response passes the schema undumped.
        return jsonify(items)

    @auth_required(checked_in_statement=True, scope=SEND)
    @blp.arguments(IdempotencyHeaderSchema(), location="headers")
    @blp.arguments(NotificationSendSchema())
    @blp.response(201, NotificationSchema)
    @blp.alt_response(409, response=CONFLICT)
    def post(self, headers, data):
        """Create a notification; it is delivered asynchronously

        Give `title`, `content` and `channel`, or a `template_id` and the
        `personalisation` values of its placeholders (the template gives the
        channel; the stored text is the rendered one).
        Send an `Idempotency-Key` header to make retries safe: the same key
        answers the first result, with `Idempotent-Replayed: true`.
        """
        body, replayed = service.create_notification(data, headers.get("idempotency_key"))
        response_headers = {"Location": f"/notifications/{body['id']}"}
        if replayed:
            response_headers["Idempotent-Replayed"] = "true"
        return jsonify(body), 201, response_headers


@blp.route("/<id:notification_id>")
class NotificationById(MethodView):
    @auth_required(checked_in_statement=True, scope=READ)
    @blp.response(200, NotificationSchema)
    def get(self, notification_id):
        """Get one notification"""
        return jsonify(service.get_notification(notification_id))

    @auth_required(checked_in_statement=True, scope=WRITE)
    @blp.arguments(NotificationCreateSchema())
    @blp.response(200, NotificationSchema)
    @blp.alt_response(409, response=CONFLICT)
    def put(self, data, notification_id):
        """Replace a pending or failed notification

        Editing a failed notification puts it back to pending with its attempts reset.
        """
        body = service.update_notification(notification_id, data, replace=True)
        return jsonify(body)

    @auth_required(checked_in_statement=True, scope=WRITE)
    @blp.arguments(NotificationPatchSchema())
    @blp.response(200, NotificationSchema)
    @blp.alt_response(409, response=CONFLICT)
    def patch(self, data, notification_id):
        """Change some fields of a pending or failed notification"""
        return jsonify(service.update_notification(notification_id, data, replace=False))

    @auth_required(checked_in_statement=True, scope=WRITE)
    @blp.response(204)
    def delete(self, notification_id):
        """Delete a notification and its delivery attempts"""
        service.delete_notification(notification_id)


@blp.route("/<id:notification_id>/cancel")
class CancelNotification(MethodView):
    @auth_required(checked_in_statement=True, scope=WRITE)
    @blp.response(200, NotificationSchema)
    @blp.alt_response(409, response=CONFLICT)
    def post(self, notification_id):
        """Cancel a pending notification: it is never delivered

        Any other status is 409; a cancelled notification can no longer be edited.
        """
        return jsonify(service.cancel_notification(notification_id))


@blp.route("/<id:notification_id>/attempts")
class Attempts(MethodView):
    @auth_required(checked_in_statement=True, scope=READ)
    @blp.response(200, DeliveryAttemptSchema(many=True))
    def get(self, notification_id):
        """Delivery attempts of a notification, oldest first"""
        return service.list_attempts(notification_id)

"""Routes under `/webhooks`: every query is scoped to the token's user.

Who is calling is asked in one place, the two names imported below, so that
the principal module of the architecture issue can replace them in one edit.
"""

from __future__ import annotations

from flask.views import MethodView

from notifier.auth.tokens import current_user_id, token_required
from notifier.web import Blueprint
from notifier.webhooks import service
from notifier.webhooks.schemas import (
    DeliveryQuerySchema,
    DeliverySchema,
    WebhookCreateSchema,
    WebhookPatchSchema,
    WebhookSchema,
    WebhookWithSecretSchema,
)

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/webhooks",
    description="Signed callbacks when a notification's delivery status changes",
)


@blp.route("")
class Webhooks(MethodView):
    @token_required()
    @blp.response(200, WebhookSchema(many=True))
    def get(self):
        """List your webhooks, newest first"""
        return service.list_webhooks(current_user_id())

    @token_required()
    @blp.arguments(WebhookCreateSchema())
    @blp.response(201, WebhookWithSecretSchema)
    def post(self, data):
        """Register a webhook; its signing `secret` is shown in this answer only

        At most 10 per user. `events` defaults to every event type. The URL must
        be https:// and reach a public address.
        """
        body = service.create_webhook(current_user_id(), data)
        return body, 201, {"Location": f"/webhooks/{body['id']}"}


@blp.route("/<id:webhook_id>")
class WebhookById(MethodView):
    @token_required()
    @blp.response(200, WebhookSchema)
    def get(self, webhook_id):
        """Get one webhook"""
        return service.get_webhook(current_user_id(), webhook_id)

    @token_required()
    @blp.arguments(WebhookPatchSchema())
    @blp.response(200, WebhookSchema)
    def patch(self, data, webhook_id):
        """Change a webhook's url, events, description or enabled

        Disabling it fails its pending deliveries: nothing more is sent.
        """
        return service.update_webhook(current_user_id(), webhook_id, data)

    @token_required()
    @blp.response(204)
    def delete(self, webhook_id):
        """Delete a webhook and its delivery log; nothing more is sent to it"""
        service.delete_webhook(current_user_id(), webhook_id)


@blp.route("/<id:webhook_id>/rotate-secret")
class RotateSecret(MethodView):
    @token_required()
    @blp.response(200, WebhookWithSecretSchema)
    def post(self, webhook_id):
        """Replace the signing secret

        For 24 hours every request carries two signatures: the new secret's and the old one's.
        """
        return service.rotate_secret(current_user_id(), webhook_id)


@blp.route("/<id:webhook_id>/test")
class SendTest(MethodView):
    @token_required()
    @blp.response(202, DeliverySchema)
    def post(self, webhook_id):
        """Send a `webhook.test` event (whatever the webhook's events)

        The answer is the queued delivery; follow it in the delivery log.
        """
        return service.send_test(current_user_id(), webhook_id)


@blp.route("/<id:webhook_id>/deliveries")
class Deliveries(MethodView):
    @token_required()
    @blp.arguments(DeliveryQuerySchema(), location="query")
    @blp.response(200, DeliverySchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters, webhook_id):
        """The webhook's delivery log, newest first (kept at least 7 days)

        Filter by `status`; page with `page` and `page_size` (at most 100).
        The `X-Pagination` header holds the totals.
        """
        items, total = service.list_deliveries(
            current_user_id(),
            webhook_id,
            filters,
            pagination_parameters.page,
            pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return items

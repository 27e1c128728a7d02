"""Routes under `/webhooks`: every query is scoped to the caller's user id.

Each route checks the credential (and that its session is still valid) through
`notifier.auth.principal`; the service then matches rows by (id, user_id).
"""

from __future__ import annotations

from flask.views import MethodView

from notifier.auth.principal import auth_required, current_principal
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
    @auth_required()
    @blp.response(200, WebhookSchema(many=True))
    def get(self):
        """List your webhooks, newest first"""
        return service.list_webhooks(current_principal().user_id)

    @auth_required()
    @blp.arguments(WebhookCreateSchema())
    @blp.response(201, WebhookWithSecretSchema)
    def post(self, data):
        """Register a webhook; its signing `secret` is shown in this answer only

        At most 10 per user. `events` defaults to every event type. The URL must
        be https:// and reach a public address.
        """
        body = service.create_webhook(current_principal().user_id, data)
        return body, 201, {"Location": f"/webhooks/{body['id']}"}


@blp.route("/<id:webhook_id>")
class WebhookById(MethodView):
    @auth_required()
    @blp.response(200, WebhookSchema)
    def get(self, webhook_id):
        """Get one webhook"""
        return service.get_webhook(current_principal().user_id, webhook_id)

    @auth_required()
    @blp.arguments(WebhookPatchSchema())
    @blp.response(200, WebhookSchema)
    def patch(self, data, webhook_id):
        """Change a webhook's url, events, description or enabled

        Disabling it fails its pending deliveries: nothing more is sent.
        """
        return service.update_webhook(current_principal().user_id, webhook_id, data)

    @auth_required()
    @blp.response(204)
    def delete(self, webhook_id):
        """Delete a webhook and its delivery log; nothing more is sent to it"""
        service.delete_webhook(current_principal().user_id, webhook_id)


@blp.route("/<id:webhook_id>/rotate-secret")
class RotateSecret(MethodView):
    @auth_required()
    @blp.response(200, WebhookWithSecretSchema)
    def post(self, webhook_id):
        """Replace the signing secret

        For 24 hours every request carries two signatures: the new secret's and the old one's.
        """
        return service.rotate_secret(current_principal().user_id, webhook_id)


@blp.route("/<id:webhook_id>/test")
class SendTest(MethodView):
    @auth_required()
    @blp.response(202, DeliverySchema)
    def post(self, webhook_id):
        """Send a `webhook.test` event (whatever the webhook's events)

        The answer is the queued delivery; follow it in the delivery log.
        """
        return service.send_test(current_principal().user_id, webhook_id)


@blp.route("/<id:webhook_id>/deliveries")
class Deliveries(MethodView):
    @auth_required()
    @blp.arguments(DeliveryQuerySchema(), location="query")
    @blp.response(200, DeliverySchema(many=True))
    @blp.paginate()
    def get(self, filters, pagination_parameters, webhook_id):
        """The webhook's delivery log, newest first (kept at least 7 days)

        Filter by `status`; page with `page` and `page_size` (at most 100).
        The `X-Pagination` header holds the totals.
        """
        items, total = service.list_deliveries(
            current_principal().user_id,
            webhook_id,
            filters,
            pagination_parameters.page,
            pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return items

"""Routes under `/receipts`: delivery receipts, from the caller or from Twilio."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView

from notifier.auth.principal import auth_required
from notifier.errors import not_found
from notifier.notifications.schemas import NotificationSchema
from notifier.receipts import service, twilio
from notifier.receipts.schemas import ReceiptSchema
from notifier.web import Blueprint

WRITE = "notifications:write"

blp = Blueprint(
    "receipts",
    __name__,
    url_prefix="/receipts",
    description="Whether a sent notification reached the person",
)


@blp.route("")
class Receipts(MethodView):
    @auth_required(checked_in_statement=True, scope=WRITE)
    @blp.arguments(ReceiptSchema())
    @blp.response(200, NotificationSchema)
    @blp.alt_response(404, description="None of your notifications has this provider_message_id")
    def post(self, data):
        """Report a delivery receipt for one of your sent notifications

        Name it by its `provider_message_id`. A receipt moves a `sent`
        notification to `delivered` or `failed`; for a notification in any
        other status it changes nothing and still succeeds. A permanent
        failure (the default) suppresses the target.
        """
        return service.record_receipt(data)


# Twilio's callback is a form, read and signature-checked by `twilio` (not by a schema).
TWILIO_FORM = {
    "required": True,
    "content": {
        twilio.FORM: {
            "schema": {
                "type": "object",
                "required": ["MessageSid", "MessageStatus"],
                "properties": {
                    "MessageSid": {"type": "string", "pattern": twilio.FORM_PATTERNS["MessageSid"]},
                    "MessageStatus": {
                        "type": "string",
                        "pattern": twilio.FORM_PATTERNS["MessageStatus"],
                    },
                    "ErrorCode": {"type": "string", "pattern": twilio.FORM_PATTERNS["ErrorCode"]},
                },
                "additionalProperties": {"type": "string"},
            }
        }
    },
}


@blp.route("/twilio")
class TwilioReceipts(MethodView):
    @blp.doc(security=[], requestBody=TWILIO_FORM)
    @blp.response(204)
    @blp.alt_response(
        400, description="The form, MessageSid, MessageStatus or ErrorCode is malformed"
    )
    @blp.alt_response(403, description="The X-Twilio-Signature header is missing or wrong")
    @blp.alt_response(404, description="TWILIO_AUTH_TOKEN is not set on the API")
    @blp.alt_response(413, description="The body is larger than the API accepts")
    @blp.alt_response(415, description="The body is not application/x-www-form-urlencoded")
    def post(self):
        """Twilio's status callback (form-encoded, signed with X-Twilio-Signature)

        Set as each message's StatusCallback by the delivery service.
        `delivered` delivers the notification; `undelivered` and `failed` fail
        it, naming Twilio's ErrorCode; other statuses change nothing.
        """
        token = current_app.config.get("TWILIO_AUTH_TOKEN")
        if not token:
            raise not_found("Twilio receipts are not enabled.")
        base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url.rstrip("/")
        params = twilio.parse_form(request.content_type, request.get_data(cache=False))
        twilio.check_signature(
            token, f"{base}/receipts/twilio", params, request.headers.get("X-Twilio-Signature")
        )
        service.record_twilio(*twilio.message_fields(params))

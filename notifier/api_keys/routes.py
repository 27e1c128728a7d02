"""Routes under `/api-keys`: a user's keys for their servers.

They take an access token only: a key cannot make, list or delete keys (403,
from `auth_required`, since these routes name no scope).
"""

from __future__ import annotations

from flask.views import MethodView

from notifier.api_keys import service
from notifier.api_keys.schemas import ApiKeyCreateSchema, ApiKeySchema, ApiKeyWithSecretSchema
from notifier.auth.principal import auth_required, current_principal
from notifier.web import Blueprint

blp = Blueprint(
    "api_keys",
    __name__,
    url_prefix="/api-keys",
    description="Keys for your servers, to call the /notifications routes",
)


@blp.route("")
class ApiKeys(MethodView):
    @auth_required()
    @blp.response(200, ApiKeySchema(many=True))
    def get(self):
        """List your API keys, newest first (without the keys themselves)"""
        return service.list_keys(current_principal().user_id)

    @auth_required()
    @blp.arguments(ApiKeyCreateSchema())
    @blp.response(201, ApiKeyWithSecretSchema)
    @blp.alt_response(403, description="Called with an API key: use an access token")
    def post(self, data):
        """Create an API key; the `key` is shown in this answer only

        Use it as `Authorization: Bearer <key>` on the /notifications routes
        (and, with the opt-in `templates:read` scope, to read and preview templates).
        At most 20 keys per user. `scopes` defaults to the three `notifications:`
        scopes; a `test`
        key makes sandbox notifications, delivered by the simulator only.
        """
        body = service.create_key(
            current_principal().user_id,
            data["name"],
            data.get("scopes"),
            data["mode"],
            data.get("expires_at"),
        )
        return body, 201, {"Location": f"/api-keys/{body['id']}"}


@blp.route("/<id:key_id>")
class ApiKeyById(MethodView):
    @auth_required()
    @blp.response(200, ApiKeySchema)
    def get(self, key_id):
        """Get one API key (without the key itself)"""
        return service.get_key(current_principal().user_id, key_id)

    @auth_required()
    @blp.response(204)
    def delete(self, key_id):
        """Delete an API key; every server using it is refused from now on"""
        service.delete_key(current_principal().user_id, key_id)

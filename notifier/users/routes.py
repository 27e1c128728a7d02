"""Routes: `POST /users`, `GET /users/me`."""

from flask.views import MethodView

from notifier.auth.principal import auth_required, current_principal
from notifier.errors import unauthorized
from notifier.openapi import CONFLICT
from notifier.users import service
from notifier.users.schemas import UserCreateSchema, UserSchema
from notifier.web import Blueprint

blp = Blueprint("users", __name__, url_prefix="/users", description="Registration and profile")


@blp.route("")
class Users(MethodView):
    @blp.doc(security=[])
    @blp.arguments(UserCreateSchema())
    @blp.response(201, UserSchema, headers={"Location": {"schema": {"type": "string"}}})
    @blp.alt_response(409, response=CONFLICT, description="The email is taken")
    def post(self, data):
        """Register a user

        The email is stored lower-cased; it must not be taken in any case.
        """
        user = service.register(data)
        return user, 201, {"Location": "/users/me"}


@blp.route("/me")
class Me(MethodView):
    @auth_required()
    @blp.response(200, UserSchema)
    def get(self):
        """The user the access token belongs to"""
        user = service.get_user(current_principal().user_id)
        if user is None:
            raise unauthorized("The token's user no longer exists.")
        return user

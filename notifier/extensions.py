"""Flask extensions, created unbound and bound in `app.register_extensions`."""

from flask_jwt_extended import JWTManager
from flask_smorest import Blueprint as _SmorestBlueprint
from flask_sqlalchemy import SQLAlchemy

from notifier.database import Base
from notifier.errors import ErrorShapeApi
from notifier.pagination import InstanceCachingParser, pagination_metadata


class Blueprint(_SmorestBlueprint):
    """Blueprint with the contract's pagination defaults (page_size 20, at most 100),
    and pagination that builds no schema per request (see notifier.pagination)."""

    DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": 20, "max_page_size": 100}
    PAGINATION_ARGUMENTS_PARSER = InstanceCachingParser()

    @staticmethod
    def _make_pagination_metadata(page: int, page_size: int, item_count: int) -> dict:
        return pagination_metadata(page, page_size, item_count)


# Objects keep their loaded values after a commit: answering with what was just
# written must not cost a SELECT to reload it.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
api = ErrorShapeApi()
jwt = JWTManager()

"""Flask extensions, created unbound and bound in `app.register_extensions`.

This module imports libraries and the model base only, so any module may
import it without an import cycle. The flask-smorest `Api` is not here: the
factory makes one per app (an `Api` holds one OpenAPI document).
"""

from flask_jwt_extended import JWTManager
from flask_sqlalchemy import SQLAlchemy

from notifier.base import Base

# Objects keep their loaded values after a commit: answering with what was just
# written must not cost a SELECT to reload it.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
jwt = JWTManager()

"""Flask extensions, created unbound and bound in `app.register_extensions`.

This module imports libraries and the model base only, so any module may
import it without an import cycle. The flask-smorest `Api` is not here: the
factory makes one per app (an `Api` holds one OpenAPI document).

`jwt` is made on first use: flask-jwt-extended brings PyJWT and `cryptography`
(about 9 MB of a process), and the dispatcher, which reaches `db` through every
model, signs and checks no token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_sqlalchemy import SQLAlchemy

from notifier.base import Base

# Objects keep their loaded values after a commit: answering with what was just
# written must not cost a SELECT to reload it.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})

if TYPE_CHECKING:
    from flask_jwt_extended import JWTManager

    jwt: JWTManager


def __getattr__(name: str) -> Any:
    if name == "jwt":
        # Here, not at the top: see the module docstring.
        from flask_jwt_extended import JWTManager

        manager = globals()["jwt"] = JWTManager()  # made once, then a plain attribute
        return manager
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

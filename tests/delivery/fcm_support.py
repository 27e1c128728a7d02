"""The FCM tests' fake of Google (FCM HTTP v1 and the OAuth 2 token endpoint), their
message, and FCM's documented error body. The fixtures built on them are in conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt

from delivery.providers.fcm import FCM_ERROR_TYPE, SCOPE
from tests.delivery.fakes.http_servers import HttpFake, Seen

TOKEN = "device-token_" + "a1B2:c3.d4-" * 4
PUSH = {"channel": "push", "target": TOKEN, "title": "Hi", "content": "You have mail"}
SEND_PATH = "/v1/projects/demo-project/messages:send"
NAME = "projects/demo-project/messages/0:1500415314455276%31bd1c9631bd1c96"


def fcm_error(status: int, grpc: str, message: str, code: str | None = None) -> dict[str, Any]:
    """FCM v1's documented error body (with an FcmError detail when ``code`` is given)."""
    error: dict[str, Any] = {"code": status, "message": message, "status": grpc}
    if code:
        error["details"] = [{"@type": FCM_ERROR_TYPE, "errorCode": code}]
    return {"error": error}


class Google:
    """One fake for both hosts: the token endpoint (/token) and FCM (/v1/...)."""

    def __init__(self, public_key: bytes) -> None:
        self.public_key = public_key
        self.tokens_issued = 0
        self.token_reply: Callable[[Seen], tuple[int, Any, dict]] | None = None
        self.expires_in = 3600
        self.fcm_reply: Callable[[Seen], tuple[int, Any, dict]] = lambda seen: (
            200,
            {"name": NAME},
            {},
        )
        self.http = HttpFake().start()
        self.http.respond = self._respond

    @property
    def sends(self) -> list[Seen]:
        return [seen for seen in self.http.requests if seen.path.startswith("/v1/")]

    def _respond(self, seen: Seen) -> tuple[int, Any, dict]:
        if seen.path != "/token":
            return self.fcm_reply(seen)
        if self.token_reply:
            return self.token_reply(seen)
        assert seen.form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
        claims = jwt.decode(
            seen.form["assertion"],
            self.public_key,
            algorithms=["RS256"],
            audience="https://oauth2.googleapis.com/token",  # what google-auth always signs
        )
        assert claims["scope"] == SCOPE
        self.tokens_issued += 1
        token = {"access_token": f"access-{self.tokens_issued}", "token_type": "Bearer"}
        return 200, {**token, "expires_in": self.expires_in}, {}

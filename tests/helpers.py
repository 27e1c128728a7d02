"""Request helpers for tests: an authenticated client that checks statuses."""

from __future__ import annotations

from dataclasses import dataclass

from flask.testing import FlaskClient

# Keyword arguments for `serve_forever` of a server a test runs in a thread: shutdown()
# waits for the loop's next check, every 0.5 s by default, so each teardown waited that.
FAST_SHUTDOWN = {"poll_interval": 0.05}


@dataclass
class ApiClient:
    client: FlaskClient
    access_token: str
    refresh_token: str

    @classmethod
    def login(cls, client: FlaskClient, email: str, password: str) -> ApiClient:
        response = client.post("/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        return cls(client, body["access_token"], body["refresh_token"])

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.access_token}"}

    def request(self, method: str, path: str, expect: int | None = None, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (response.status_code, response.get_json())
        return response

    def get(self, path: str, expect: int | None = 200, **kwargs):
        return self.request("GET", path, expect, **kwargs)

    def post(self, path: str, expect: int | None = None, **kwargs):
        return self.request("POST", path, expect, **kwargs)

    def put(self, path: str, expect: int | None = None, **kwargs):
        return self.request("PUT", path, expect, **kwargs)

    def patch(self, path: str, expect: int | None = None, **kwargs):
        return self.request("PATCH", path, expect, **kwargs)

    def delete(self, path: str, expect: int | None = None, **kwargs):
        return self.request("DELETE", path, expect, **kwargs)

    def create(self, expect: int = 201, **fields):
        body = {
            "title": "Hello",
            "content": "Your order has shipped.",
            "channel": "email",
            "target": "alice@example.com",
            **fields,
        }
        return self.post("/notifications", expect, json=body)

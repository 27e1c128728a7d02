"""A deleted API key is refused at once by every gunicorn worker, even by workers
that had looked it up and remember its attributes; hostile Authorization values
get the error shape over real HTTP too."""

from __future__ import annotations

import requests

from tests.live_server import running_api

BODY = {"title": "Hi", "content": "Hello", "channel": "email", "target": "a@example.com"}


def test_a_deleted_key_is_refused_at_once_by_every_worker(tmp_path):
    with running_api(tmp_path, workers=2) as url:
        user = {"name": "Kai", "email": "kai@example.com", "password": "correct horse"}
        assert requests.post(f"{url}/users", json=user, timeout=10).status_code == 201
        login = {"email": user["email"], "password": user["password"]}
        token = requests.post(f"{url}/auth/login", json=login, timeout=10).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        made = requests.post(f"{url}/api-keys", json={"name": "srv"}, headers=bearer, timeout=10)
        assert made.status_code == 201
        with_key = {"Authorization": f"Bearer {made.json()['key']}"}
        created = requests.post(f"{url}/notifications", json=BODY, headers=with_key, timeout=10)
        assert created.status_code == 201
        path = f"{url}/notifications/{created.json()['id']}"
        # A new connection per request: both workers look the key up and remember it.
        for _ in range(20):
            assert requests.get(path, headers=with_key, timeout=10).status_code == 200

        key_path = f"{url}/api-keys/{made.json()['id']}"
        assert requests.delete(key_path, headers=bearer, timeout=10).status_code == 204

        for route in (path, f"{url}/notifications") * 10:
            response = requests.get(route, headers=with_key, timeout=10)
            assert response.status_code == 401, route
            assert response.headers["WWW-Authenticate"] == "Bearer"
        refused = requests.post(f"{url}/notifications", json=BODY, headers=with_key, timeout=10)
        assert refused.status_code == 401

        for value in (
            "Bearer ntf_live_" + "a" * 8192,
            "Bearer " + "b" * 8192,
            "Bearer ntf_live_\u00e9t\u00e9",
        ):
            response = requests.get(
                f"{url}/notifications",
                headers={"Authorization": value.encode().decode("latin-1")},
                timeout=10,
            )
            assert response.status_code == 401, (value[:30], response.text[:200])
            assert response.json()["code"] == 401
            assert response.headers["WWW-Authenticate"] == "Bearer"

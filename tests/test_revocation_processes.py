"""A logout is seen at once by every gunicorn worker, even by workers that have
already verified (and remember) the token: revocation is read on every request."""

import requests

from tests.live_server import running_api

BODY = {"title": "Hi", "content": "Hello", "channel": "email", "target": "a@example.com"}


def test_a_logout_is_refused_at_once_by_every_worker(tmp_path):
    with running_api(tmp_path, workers=3) as url:
        user = {"name": "Rita", "email": "rita@example.com", "password": "correct horse"}
        assert requests.post(f"{url}/users", json=user, timeout=10).status_code == 201
        login = {"email": user["email"], "password": user["password"]}
        tokens = requests.post(f"{url}/auth/login", json=login, timeout=10).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        created = requests.post(f"{url}/notifications", json=BODY, headers=headers, timeout=10)
        path = f"{url}/notifications/{created.json()['id']}"
        # A new connection per request: the workers share the accepts, so each of
        # them verifies (and remembers) the token.
        for _ in range(30):
            assert requests.get(path, headers=headers, timeout=10).status_code == 200

        logout = requests.post(f"{url}/auth/logout", headers=headers, timeout=10)
        assert logout.status_code == 204

        for route in (path, f"{url}/notifications", f"{url}/users/me") * 10:
            response = requests.get(route, headers=headers, timeout=10)
            assert response.status_code == 401, route
            assert response.json()["message"] == "The token has been revoked."

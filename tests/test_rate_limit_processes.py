"""The login limit holds across gunicorn workers, with the default storage.

Counters live in the application's database (`database://`), so a client that
hits a different worker with every request is still limited at the 11th try.
"""

import requests

from tests.live_server import running_api


def test_login_limit_is_shared_by_every_worker(tmp_path):
    with running_api(tmp_path, workers=3) as url:
        body = {"name": "Rita", "email": "rita@example.com", "password": "correct horse"}
        assert requests.post(f"{url}/users", json=body, timeout=10).status_code == 201
        login = {"email": "rita@example.com", "password": "wrong password"}
        for _ in range(10):
            response = requests.post(f"{url}/auth/login", json=login, timeout=10)
            assert response.status_code == 401
        limited = requests.post(
            f"{url}/auth/login",
            json={**login, "password": "correct horse"},
            timeout=10,
        )
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["code"] == 429

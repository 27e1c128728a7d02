"""Caps hold under concurrency: 60 creates racing over real HTTP, through several
gunicorn workers on the test database, make exactly the cap and answer 422 to the rest."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from config import TestConfig
from tests.live_server import running_api
from tests.webhook_support import PUBLIC_URL

RACERS = 60


@pytest.fixture(scope="module")
def racing_api(app, tmp_path_factory) -> Iterator[str]:
    """The API under gunicorn, 8 workers, on the test database: one for every race here.

    Starting and stopping eight workers takes longer than a race; the autouse cleanup
    deletes the rows between the races, as for any test on this database.
    """
    database = TestConfig.SQLALCHEMY_DATABASE_URI
    workdir = tmp_path_factory.mktemp("races")
    with running_api(workdir, workers=8, database_url=database) as url:
        yield url


def _bearer(url: str) -> dict[str, str]:
    user = {"name": "Racer", "email": "racer@example.com", "password": "correct horse"}
    assert requests.post(f"{url}/users", json=user, timeout=10).status_code == 201
    login = {"email": user["email"], "password": user["password"]}
    token = requests.post(f"{url}/auth/login", json=login, timeout=10).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("path", "body", "cap"),
    [("/api-keys", {"name": "Server"}, 20), ("/webhooks", {"url": PUBLIC_URL}, 10)],
    ids=["api keys", "webhooks"],
)
def test_racing_creates_make_exactly_the_cap(racing_api, path, body, cap):
    url = racing_api
    bearer = _bearer(url)

    def create(_: int) -> requests.Response:
        return requests.post(f"{url}{path}", json=body, headers=bearer, timeout=60)

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        answers = list(pool.map(create, range(RACERS)))

    assert Counter(answer.status_code for answer in answers) == {
        201: cap,
        422: RACERS - cap,
    }
    refused = next(answer for answer in answers if answer.status_code == 422).json()
    assert refused["code"] == 422 and "delete one first" in refused["message"]
    assert len(requests.get(f"{url}{path}", headers=bearer, timeout=10).json()) == cap

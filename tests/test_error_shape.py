"""One error shape everywhere: {code, status, message[, errors]}, JSON, never a trace."""

from http import HTTPStatus

import pytest

from notifier.users import service as user_service
from tests.factories import PASSWORD


def _bad_json(client, api):
    return client.post("/users", data=b'{"name": ', content_type="application/json")


def _bad_utf8(client, api):
    return client.post("/users", data=b'{"name": "\xff\xfe"}', content_type="application/json")


def _no_token(client, api):
    return client.get("/notifications")


def _forged_token(client, api):
    return client.get("/users/me", headers={"Authorization": "Bearer abc.def.ghi"})


def _unknown_route(client, api):
    return client.get("/no/such/route")


def _unknown_id(client, api):
    return api.get("/notifications/424242", expect=None)


def _wrong_method(client, api):
    return client.delete("/users")


def _conflict(client, api):
    body = {"name": "A", "email": "dup@example.com", "password": PASSWORD}
    client.post("/users", json=body)
    return client.post("/users", json=body)


def _too_large(client, api):
    return client.post("/users", data=b"x" * 70_000, content_type="application/json")


def _validation(client, api):
    return client.post("/users", json={"name": "", "email": "nope", "password": "1"})


def _rate_limited(client, api):
    for _ in range(10):
        client.post("/auth/login", json={"email": "x@example.com", "password": "wrong-password"})
    return client.post("/auth/login", json={"email": "x@example.com", "password": "wrong-password"})


CASES = [
    (400, _bad_json),
    (400, _bad_utf8),
    (401, _no_token),
    (401, _forged_token),
    (404, _unknown_route),
    (404, _unknown_id),
    (405, _wrong_method),
    (409, _conflict),
    (413, _too_large),
    (422, _validation),
    (429, _rate_limited),
]


def _assert_shape(response, code):
    assert response.status_code == code
    assert response.content_type == "application/json"
    body = response.get_json()
    assert body["code"] == code
    assert body["status"] == HTTPStatus(code).phrase
    assert isinstance(body["message"], str) and body["message"].strip()
    assert set(body) <= {"code", "status", "message", "errors"}
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize(("code", "make_request"), CASES, ids=[c[1].__name__ for c in CASES])
def test_every_error_has_the_one_shape(client, api, code, make_request):
    _assert_shape(make_request(client, api), code)


def test_validation_errors_name_the_field_by_location(client):
    body = client.post("/users", json={"name": "A", "email": "a@example.com"}).get_json()
    assert body["errors"] == {"json": {"password": ["Missing data for required field."]}}


def test_unexpected_exception_is_a_500_in_the_shape_without_trace(app, api, monkeypatch):
    def explode(user_id):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(user_service, "get_user", explode)
    monkeypatch.setattr(app, "testing", False)
    response = api.get("/users/me", expect=None)
    _assert_shape(response, 500)
    assert "secret internals" not in response.get_data(as_text=True)


def test_auth_errors_carry_www_authenticate(client):
    response = client.get("/users/me")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_rate_limit_answers_retry_after(client, api):
    response = _rate_limited(client, api)
    assert int(response.headers["Retry-After"]) > 0


def test_chunked_body_over_the_limit_is_413_not_400(client):
    import io

    response = client.post(
        "/users",
        environ_overrides={
            "wsgi.input": io.BytesIO(b"x" * 70_000),
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input_terminated": True,
        },
        content_type="application/json",
    )
    _assert_shape(response, 413)


def test_chunked_body_under_the_limit_is_read_whole(client):
    import io
    import json

    body = json.dumps({"name": "Chunky", "email": "c@example.com", "password": PASSWORD})
    response = client.post(
        "/users",
        environ_overrides={
            "wsgi.input": io.BytesIO(body.encode()),
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input_terminated": True,
        },
        content_type="application/json",
    )
    assert response.status_code == 201


def test_405_says_which_methods_are_allowed(client):
    response = client.delete("/users")
    assert response.headers["Allow"] == "OPTIONS, POST"


def test_large_body_of_any_content_type_is_413(api):
    response = api.post("/notifications", data="x" * 70_000, content_type="text/plain")
    _assert_shape(response, 413)

"""`Client`: one method per thing the notifier API does.

Every method returns the API's JSON (a dict, or a list for attempts) or raises
`NotifierError`. List methods return lazy iterators that fetch page after page (following
the `X-Pagination` header) only as you consume them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, cast

import requests

from notifier_client.transport import RetryPolicy, Transport
from notifier_client.version import __version__

Json = dict[str, Any]
Filter = str | int | bool


class Client:
    """The notifier API at `base_url`, as the owner of `api_key` or of an access `token`.

    `max_tries` (3) bounds the tries of one call (see `notifier_client.transport` for what
    is retried); `timeout` (10 s) bounds each try; `max_retry_wait` (60 s) is the longest
    `Retry-After` waited for before the error is raised instead.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        max_tries: int = 3,
        max_retry_wait: float = 60.0,
        session: requests.Session | None = None,
    ) -> None:
        if api_key and token:
            raise ValueError("give api_key or token, not both")
        headers = {"Accept": "application/json", "User-Agent": f"notifier-client/{__version__}"}
        credential = api_key or token
        if credential:
            headers["Authorization"] = f"Bearer {credential}"
        policy = RetryPolicy(max_tries=max_tries, max_wait_s=max_retry_wait)
        self._http = Transport(base_url, headers, timeout, policy, session)

    @classmethod
    def login(cls, base_url: str, email: str, password: str, **options: Any) -> Client:
        """A client holding a fresh access token for this user (it lives 15 minutes;
        servers should use an API key instead)."""
        anonymous = cls(base_url, **options)
        try:
            tokens = anonymous._json(
                "POST", "/auth/login", body={"email": email, "password": password}
            )
        finally:
            anonymous.close()
        return cls(base_url, token=tokens["access_token"], **options)

    def close(self) -> None:
        """Close the connections kept open (also done by `with Client(...) as client:`)."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- notifications ---------------------------------------------------------------

    def send(
        self,
        *,
        target: str,
        channel: str | None = None,
        title: str | None = None,
        content: str | None = None,
        template_id: int | None = None,
        personalisation: Mapping[str, str | int | float] | None = None,
        template_version: int | None = None,
        scheduled_at: datetime | str | None = None,
        reference: str | None = None,
        unsubscribe: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Json:
        """Create a notification: with `channel`, `title` and `content`, or from a template
        (`template_id` and `personalisation`). Sent with an `Idempotency-Key` (yours, or one
        made for this call), so that a retry never creates a second notification."""
        body = _fields(
            target=target,
            channel=channel,
            title=title,
            content=content,
            template_id=template_id,
            personalisation=personalisation,
            template_version=template_version,
            scheduled_at=scheduled_at,
            reference=reference,
            unsubscribe=unsubscribe,
        )
        return self._create("/notifications", body, idempotency_key)

    def get(self, notification_id: int) -> Json:
        """One notification."""
        return self._json("GET", f"/notifications/{_id(notification_id)}")

    def update(self, notification_id: int, **fields: Any) -> Json:
        """Change some fields of a pending or failed notification (PATCH); a failed one
        goes back to pending. `scheduled_at=None` means now."""
        body = {key: _value(value) for key, value in fields.items()}
        return self._json("PATCH", f"/notifications/{_id(notification_id)}", body=body)

    def delete(self, notification_id: int) -> None:
        """Delete a notification and its attempts; a pending one is never sent."""
        self._http.request("DELETE", f"/notifications/{_id(notification_id)}")

    def cancel(self, notification_id: int) -> Json:
        """Cancel a pending notification (409 in any other status)."""
        return self._json("POST", f"/notifications/{_id(notification_id)}/cancel")

    def attempts(self, notification_id: int) -> list[Json]:
        """The delivery attempts of a notification, oldest first."""
        path = f"/notifications/{_id(notification_id)}/attempts"
        return cast(list[Json], self._http.request("GET", path).json())

    def notifications(self, *, page_size: int = 100, **filters: Filter) -> Iterator[Json]:
        """Every notification matching the filters (`status`, `channel`, `sandbox`,
        `batch_id`, `template_id`, `reference`), newest first, fetched page by page."""
        return self._pages("/notifications", filters, page_size)

    # ---- batches -----------------------------------------------------------------------

    def send_batch(
        self,
        *,
        template_id: int,
        recipients: list[Mapping[str, Any]] | None = None,
        csv: str | None = None,
        name: str | None = None,
        scheduled_at: datetime | str | None = None,
        template_version: int | None = None,
        unsubscribe: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Json:
        """Send a template to many recipients (`recipients` or `csv`, not both), with an
        `Idempotency-Key` like `send`."""
        body = _fields(
            template_id=template_id,
            recipients=recipients,
            csv=csv,
            name=name,
            scheduled_at=scheduled_at,
            template_version=template_version,
            unsubscribe=unsubscribe,
        )
        return self._create("/batches", body, idempotency_key)

    def batch(self, batch_id: int) -> Json:
        """One batch, with its current counts by status."""
        return self._json("GET", f"/batches/{_id(batch_id)}")

    def batches(self, *, page_size: int = 100) -> Iterator[Json]:
        """Every batch, newest first, fetched page by page."""
        return self._pages("/batches", {}, page_size)

    def cancel_batch(self, batch_id: int) -> Json:
        """Cancel every pending notification of a batch."""
        return self._json("POST", f"/batches/{_id(batch_id)}/cancel")

    # ---- templates ---------------------------------------------------------------------

    def templates(self, *, channel: str | None = None, page_size: int = 100) -> Iterator[Json]:
        """Every template (of one `channel`, if given), newest first, page by page."""
        return self._pages("/templates", _fields(channel=channel), page_size)

    def template(self, template_id: int) -> Json:
        """One template, at its current version."""
        return self._json("GET", f"/templates/{_id(template_id)}")

    def create_template(self, *, name: str, channel: str, title: str, content: str) -> Json:
        """Create a template (needs an access token: API keys cannot write templates)."""
        body = {"name": name, "channel": channel, "title": title, "content": content}
        return self._json("POST", "/templates", body=body)

    def update_template(self, template_id: int, **fields: str) -> Json:
        """Change `name`, `title` or `content` (a new version when the text changes)."""
        return self._json("PATCH", f"/templates/{_id(template_id)}", body=dict(fields))

    def delete_template(self, template_id: int) -> None:
        """Delete a template: it can no longer be sent or read."""
        self._http.request("DELETE", f"/templates/{_id(template_id)}")

    def preview(
        self,
        template_id: int,
        personalisation: Mapping[str, str | int | float] | None = None,
        version: int | None = None,
    ) -> Json:
        """Render a template without sending: `{channel, version, title, content, details}`."""
        body = _fields(personalisation=dict(personalisation or {}), version=version)
        return self._json("POST", f"/templates/{_id(template_id)}/preview", body=body)

    # ---- plumbing ----------------------------------------------------------------------

    def _json(self, method: str, path: str, body: Any = None) -> Json:
        return cast(Json, self._http.request(method, path, json=body).json())

    def _create(self, path: str, body: Json, idempotency_key: str | None) -> Json:
        # Made once per call: every retry of this call carries the same key.
        key = idempotency_key or str(uuid.uuid4())
        return cast(Json, self._http.request("POST", path, json=body, idempotency_key=key).json())

    def _pages(self, path: str, filters: Mapping[str, Filter], page_size: int) -> Iterator[Json]:
        params = {key: _query_value(value) for key, value in filters.items()}

        def pages() -> Iterator[Json]:
            page: int | None = 1
            while page is not None:
                response = self._http.request(
                    "GET", path, params={**params, "page": page, "page_size": page_size}
                )
                items = response.json()
                yield from items
                page = _next_page(response, page) if items else None

        return pages()


def _next_page(response: requests.Response, page: int) -> int | None:
    """The next page number from `X-Pagination`, None after the last page."""
    try:
        pagination = json.loads(response.headers.get("X-Pagination") or "{}")
    except ValueError:
        return None
    following = pagination.get("next_page")
    return following if isinstance(following, int) and following > page else None


def _id(value: int) -> int:
    """An id for a path: an integer, never text that could change the path."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"an id is an integer, got {value!r}")
    return value


def _value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _fields(**fields: Any) -> Json:
    """The body: the fields that were given (None means "not given")."""
    return {key: _value(value) for key, value in fields.items() if value is not None}


def _query_value(value: Filter) -> str | int:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value

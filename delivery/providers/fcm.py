"""Push through Firebase Cloud Messaging's HTTP v1 API (``PUSH_PROVIDER=fcm``).

``POST {FCM_API_BASE}/v1/projects/{FCM_PROJECT_ID}/messages:send`` with
``{"message": {"token", "notification": {"title", "body"}}}`` (no ``title`` when it is
empty) and an OAuth 2 access token of the service account in
``FCM_CREDENTIALS_FILE``, made by ``google-auth`` from the file's ``token_uri`` (or
``FCM_TOKEN_URI``) and cached until shortly before it expires; one greenlet
refreshes it while the others wait.

FCM's errors are ``{"error": {"code", "message", "status", "details": [{"@type":
"…FcmError", "errorCode"}]}}``; they become:

- 200: sent, with FCM's ``name`` as the ``provider_message_id``;
- ``UNREGISTERED`` (404): 422, the token is gone; ``INVALID_ARGUMENT`` (400): 422
  (``rejected`` says whether the token or the message is at fault: see
  :func:`delivery.providers.refusals.fcm_kind`);
- 401 (once more with a fresh token first), 403 (``SENDER_ID_MISMATCH``,
  ``THIRD_PARTY_AUTH_ERROR``, ``PERMISSION_DENIED``), any other 404, and a token
  the service account cannot get: 503 and an error log;
- ``QUOTA_EXCEEDED`` (429), ``UNAVAILABLE`` (503), ``INTERNAL`` (500): 503, with
  FCM's ``Retry-After``; anything FCM does not document: 503.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import requests
from google.auth import exceptions as auth_errors
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2 import service_account

import delivery.providers.base as base
import delivery.providers.http as http
from delivery.idempotency import Answer
from delivery.providers.base import Delivery, ProviderSettingsError
from delivery.providers.refusals import fcm_kind, refused

log = logging.getLogger("delivery.providers.fcm")

NAME = "fcm"
DEFAULT_API_BASE = "https://fcm.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_NEEDED_BY = "PUSH_PROVIDER=fcm"


class _TokenRequest(AuthRequest):
    """google-auth's requests transport with our timeout instead of its two minutes."""

    def __init__(self, session: requests.Session, timeout_s: float) -> None:
        super().__init__(session=session)
        self.timeout_s = timeout_s

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        return super().__call__(url, method, body, headers, timeout=self.timeout_s, **kwargs)


class _NoToken(Exception):
    """No access token could be had; ``answer`` says why."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.body["message"])
        self.answer = answer


def _fcm_error(body: Mapping[str, Any]) -> tuple[str, str, str, list[Any]]:
    """``(errorCode, status, message, details)`` of an FCM error body; empty when absent."""
    error = body.get("error")
    if not isinstance(error, dict):
        return "", "", "", []
    details = error.get("details")
    details = details if isinstance(details, list) else []
    code = ""
    for detail in details:
        if isinstance(detail, dict) and detail.get("@type") == FCM_ERROR_TYPE:
            code = str(detail.get("errorCode") or "")
    message = base.clip(error.get("message") or "")
    return code, str(error.get("status") or ""), message, details


class FcmProvider:
    """Sends each push message with one call to FCM HTTP v1."""

    name = NAME

    def __init__(
        self,
        *,
        project_id: str,
        credentials_file: str,
        api_base: str,
        token_uri: str,
        timeout_s: float,
    ) -> None:
        try:
            credentials = service_account.Credentials.from_service_account_file(
                credentials_file, scopes=[SCOPE]
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ProviderSettingsError(
                f"FCM_CREDENTIALS_FILE is not a readable service-account JSON file: {exc}"
            ) from None
        self.credentials = credentials.with_token_uri(token_uri) if token_uri else credentials
        self.url = f"{api_base.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self.timeout_s = timeout_s
        self.http = http.session()
        self._token_request = _TokenRequest(http.session(), timeout_s)
        self._token_lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> FcmProvider:
        """Read the ``FCM_*`` settings; refuse missing ones or an unreadable credentials file."""
        return cls(
            project_id=base.setting(config, "FCM_PROJECT_ID", _NEEDED_BY),
            credentials_file=base.setting(config, "FCM_CREDENTIALS_FILE", _NEEDED_BY),
            api_base=base.optional(config, "FCM_API_BASE", DEFAULT_API_BASE),
            token_uri=base.optional(config, "FCM_TOKEN_URI"),
            timeout_s=base.number(config, "FCM_TIMEOUT_S", 10.0),
        )

    def _access_token(self, refused: str | None = None) -> str:
        """The cached token, refreshed when it is about to expire or FCM ``refused`` it."""
        with self._token_lock:
            if not self.credentials.valid or self.credentials.token == refused:
                try:
                    self.credentials.refresh(self._token_request)
                except auth_errors.RefreshError as exc:
                    if exc.retryable:
                        raise _NoToken(
                            base.unavailable(
                                f"Google's token service is unavailable: {base.clip(exc)}"
                            )
                        ) from None
                    raise _NoToken(
                        base.misconfigured(
                            NAME, f"no access token for the service account: {base.clip(exc)}"
                        )
                    ) from None
                except auth_errors.TransportError as exc:
                    raise _NoToken(
                        base.unavailable(
                            f"Google's token service cannot be reached: {base.clip(exc)}"
                        )
                    ) from None
                except (TypeError, ValueError, KeyError) as exc:  # an unreadable token reply
                    raise _NoToken(
                        base.unavailable(
                            f"Google's token service gave an unreadable answer: {base.clip(exc)}"
                        )
                    ) from None
            return str(self.credentials.token)

    def send(self, delivery: Delivery) -> Answer:
        """Send one push message; map FCM's reply to an answer."""
        notification = {"body": delivery.content}
        if delivery.title:
            notification["title"] = delivery.title
        payload = {"message": {"token": delivery.target, "notification": notification}}
        refused: str | None = None
        try:
            for _ in range(2):
                token = self._access_token(refused)
                response = self.http.post(
                    self.url,
                    json=payload,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=self.timeout_s,
                )
                if response.status_code != 401:
                    break
                refused = token  # revoked or expired early: one more try with a new one
        except _NoToken as exc:
            return exc.answer
        except requests.RequestException as exc:
            return http.exchange_failed("FCM", exc, self.timeout_s)
        return self._answer(response, delivery)

    def _answer(self, response: requests.Response, delivery: Delivery) -> Answer:
        status = response.status_code
        body = http.json_body(response)
        if 200 <= status <= 299:
            return http.accepted(NAME, body.get("name"), delivery.details)

        code, error_status, message, details = _fcm_error(body)
        described = f"{message or response.reason or 'no reason given'} ({code or error_status})"
        if code == "UNREGISTERED":
            return refused(
                f"FCM: the device token is no longer registered: {described}",
                fcm_kind(code, message, details),
            )
        if status == 400 and "INVALID_ARGUMENT" in (code, error_status):
            return refused(
                f"FCM refused the message: {described}", fcm_kind(code, message, details)
            )
        if status == 429 or status >= 500:
            retry_after = base.retry_after_seconds(response.headers.get("Retry-After"))
            return base.unavailable(f"FCM is unavailable ({status}): {described}", retry_after)
        if status in (401, 403, 404):
            return base.misconfigured(NAME, f"{status}: {described}")
        return base.unavailable(f"FCM answered an unexpected {status}: {described}")

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()

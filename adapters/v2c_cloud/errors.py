"""The V2C client's exceptions: one tree, so callers catch exactly what they can handle.

    V2CError
    ├── V2CValidationError   a bad argument, caught before any call is spent
    ├── V2CTransportError    no HTTP answer (timeout, connection); `timeout` tells which
    ├── V2CResponseError     an answer that cannot be parsed (names the field)
    └── V2CHTTPError         an HTTP error status, with a redacted body excerpt
        ├── V2CAuthError     401: the API key is missing or wrong; never retried
        ├── V2CRateLimited   429: the daily quota is spent; never retried
        └── V2CNotFound      404: unknown path or device

No message ever contains the API key or a secret query value (the WiFi password).
"""

from __future__ import annotations


class V2CError(Exception):
    """Base of every error the V2C client raises."""


class V2CValidationError(V2CError, ValueError):
    """An argument is invalid; raised before sending, so no call of the quota is spent."""


class V2CTransportError(V2CError):
    """No HTTP answer came: a timeout or a connection failure.

    The server may still have counted the call against the quota.
    """

    def __init__(self, message: str, *, timeout: bool) -> None:
        super().__init__(message)
        self.timeout = timeout


class V2CResponseError(V2CError):
    """The answer is not what the API documents (malformed JSON, a field that is not a number)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class V2CHTTPError(V2CError):
    """The API answered with an error status; `body_excerpt` is redacted and truncated."""

    def __init__(self, message: str, *, status: int, body_excerpt: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body_excerpt = body_excerpt


class V2CAuthError(V2CHTTPError):
    """HTTP 401: the API key was refused. Retrying cannot help."""


class V2CRateLimited(V2CHTTPError):
    """HTTP 429: the daily quota is exhausted; retrying would only burn more of it.

    `retry_after_s` comes from `Retry-After` or, failing that, `RateLimit-Reset`;
    None when the server sent neither.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 429,
        body_excerpt: str = "",
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, status=status, body_excerpt=body_excerpt)
        self.retry_after_s = retry_after_s


class V2CNotFound(V2CHTTPError):
    """HTTP 404: the path or the device is unknown."""

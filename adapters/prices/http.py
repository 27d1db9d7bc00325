"""HTTP for price providers: one client, failures as one-line `PriceSourceError`s.

Tokens travel in headers or query parameters but never into a message: errors
name the provider and the host, not the URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
import pydantic

from adapters.json_files import first_error
from optimizer.prices.port import PriceSourceError

M = TypeVar("M", bound=pydantic.BaseModel)

TIMEOUT_S = 20.0
USER_AGENT = "v2c-solar (+prices)"


class HttpProvider:
    """Base of the HTTP providers: `get`/`post` that raise `PriceSourceError` on any failure."""

    def __init__(self, name: str, transport: httpx.BaseTransport | None = None) -> None:
        self._name = name
        self._client = httpx.Client(
            transport=transport, timeout=TIMEOUT_S, headers={"User-Agent": USER_AGENT}
        )

    @property
    def name(self) -> str:
        return self._name

    def error(self, reason: str, *, retryable: bool = True) -> PriceSourceError:
        """A one-line failure of this provider."""
        return PriceSourceError(self._name, reason, retryable=retryable)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        """The answer to one request; `PriceSourceError` on a transport failure or error status."""
        host = httpx.URL(url).host
        try:
            response = self._client.request(method, url, params=params, headers=headers, json=body)
        except httpx.HTTPError as exc:
            raise self.error(f"cannot reach {host}: {type(exc).__name__}") from None
        self.check_status(response, host)
        return response

    def check_status(self, response: httpx.Response, host: str) -> None:
        """Raise for 429, refused credentials and every other error status."""
        code = response.status_code
        if code == 429:
            after = response.headers.get("Retry-After")
            hint = f", retry after {after} s" if after else ""
            raise self.error(f"rate limited by {host} (HTTP 429{hint})")
        if code in (401, 403):
            raise self.error(
                f"{host} refused the credentials (HTTP {code}); check the token", retryable=False
            )
        if code >= 400:
            raise self.error(f"{host} answered HTTP {code}")

    def json(self, response: httpx.Response) -> Any:
        """The answer's JSON; a one-line error quoting its start when it is not JSON."""
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise self.error(f"answered something that is not JSON: {snippet(response)}") from None

    def parse(self, model: type[M], data: Any) -> M:
        """`data` validated as `model`; a one-line error naming the first bad field."""
        try:
            return model.model_validate(data)
        except pydantic.ValidationError as exc:
            raise self.error(f"unexpected answer: {first_error(exc)}") from None


class Answer(pydantic.BaseModel):
    """Base of a provider's answer models: the fields we read; the rest is ignored."""

    model_config = pydantic.ConfigDict(extra="ignore")


def snippet(response: httpx.Response, length: int = 60) -> str:
    """The start of an answer's text on one line, for error messages."""
    text = " ".join(response.text[:length].split())
    return repr(text) if text else "an empty body"

"""HTTP for weather providers: one client, every failure a one-line `WeatherSourceError`.

Keys travel in headers only and never into a message: errors name the provider and
the host, not the URL or its headers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
import pydantic

from adapters.json_files import first_error
from optimizer.forecast.weather import CallBudget, WeatherSourceError

M = TypeVar("M", bound=pydantic.BaseModel)

TIMEOUT_S = 20.0
USER_AGENT = "v2c-solar (+weather)"


class Answer(pydantic.BaseModel):
    """Base of a provider's answer models: the fields we read; the rest is ignored."""

    model_config = pydantic.ConfigDict(extra="ignore")


class WeatherHttp:
    """GETs JSON for one provider, spending each call on its `CallBudget` before it is made."""

    def __init__(
        self, name: str, budget: CallBudget, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.name = name
        self.budget = budget
        self._client = httpx.Client(
            transport=transport, timeout=TIMEOUT_S, headers={"User-Agent": USER_AGENT}
        )

    def error(self, reason: str) -> WeatherSourceError:
        """A one-line failure of this provider."""
        return WeatherSourceError(self.name, reason)

    def get_json(
        self,
        url: str,
        now_s: float,
        *,
        params: Mapping[str, str | float] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """The JSON answer of one GET; the call is spent first (`WeatherQuotaExceeded` if none
        is left). A 429 exhausts the budget for its window."""
        self.budget.spend(now_s)
        host = httpx.URL(url).host
        try:
            response = self._client.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise self.error(f"cannot reach {host}: {type(exc).__name__}") from None
        if response.status_code == 429:
            self.budget.exhaust(now_s)
            raise self.error(f"rate limited by {host} (HTTP 429)")
        if response.status_code in (401, 403):
            raise self.error(f"{host} refused the key (HTTP {response.status_code})")
        if response.status_code >= 400:
            raise self.error(f"{host} answered HTTP {response.status_code}")
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            text = " ".join(response.text[:60].split())
            raise self.error(f"answered something that is not JSON: {text!r}") from None

    def parse(self, model: type[M], data: Any) -> M:
        """`data` validated as `model`; a one-line error naming the first bad field."""
        try:
            return model.model_validate(data)
        except pydantic.ValidationError as exc:
            raise self.error(f"unexpected answer: {first_error(exc)}") from None

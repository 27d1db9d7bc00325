"""Shared fakes for the V2C client tests (no tests here): a recording transport."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.v2c_cloud import V2CClient
from adapters.v2c_cloud.engine import NO_RETRY, RetryPolicy

API_KEY = "k3y-VERY-secret-1234"
BASE = "https://v2c.test/kong/v2c_service"
QUOTA_HEADERS = {"RateLimit-Limit": "1000", "RateLimit-Remaining": "987", "RateLimit-Reset": "3600"}


@dataclass
class Recorder:
    """A handler that records requests and answers from a queue (last answer repeats)."""

    answers: list[httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]] = field(
        default_factory=list
    )
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    @property
    def paths(self) -> list[str]:
        return [r.url.path.removeprefix("/kong/v2c_service") for r in self.requests]


def ok(body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    payload = {"message": "Command executed successfully"} if body is None else body
    return httpx.Response(
        200, content=json.dumps(payload), headers={**QUOTA_HEADERS, **(headers or {})}
    )


def make_client(
    recorder: Recorder,
    *,
    retry: RetryPolicy = NO_RETRY,
    sleeps: list[float] | None = None,
    **kwargs: Any,
) -> V2CClient:
    sink = sleeps if sleeps is not None else []
    return V2CClient(
        API_KEY,
        base_url=BASE,
        transport=httpx.MockTransport(recorder),
        retry=retry,
        sleep=sink.append,
        **kwargs,
    )

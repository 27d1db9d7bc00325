"""The bearer token that guards the writes (`POST /api/...`).

The token comes from `V2C_SOLAR_WEB_TOKEN`. Without one, writes are refused
(403): a daemon reachable on the network must not be steerable by anyone who
finds it. A missing or wrong token is 401. Tokens are compared in constant time
(`hmac.compare_digest`) and never logged.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse

TOKEN_ENV = "V2C_SOLAR_WEB_TOKEN"
"""The environment variable holding the write token."""


def error(status: int, message: str, field: str | None = None) -> JSONResponse:
    """The API's error body: `{"error": <one line>, "field": <name or null>}`."""
    return JSONResponse({"error": message, "field": field}, status_code=status)


def write_refusal(request: Request, token: str | None) -> JSONResponse | None:
    """Why this write request is refused (403 or 401), None when its token is right."""
    if not token:
        return error(403, f"writes are disabled: set {TOKEN_ENV} to enable them")
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        response = error(401, "missing or wrong bearer token")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return None


__all__ = ["TOKEN_ENV", "error", "write_refusal"]

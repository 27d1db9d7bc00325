"""Keeping secrets out of text: the API key and secret query values (the WiFi password).

Secrets never reach an f-string in this package unredacted. Because httpx logs
full request URLs at INFO, and the API puts the WiFi password in the query
string, a logging filter scrubs `password=` values from the `httpx` and
`httpcore` loggers as well.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"

_PASSWORD_IN_URL = re.compile(r"(?i)(password=)[^&\s\"'>]*")
_APIKEY_IN_TEXT = re.compile(r"(?i)(apikey['\"]?\s*[:=]\s*['\"]?)[^\s,'\"}]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret value (raw or URL-encoded) and every `password=` value masked."""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, MASK)
    text = _PASSWORD_IN_URL.sub(rf"\g<1>{MASK}", text)
    return _APIKEY_IN_TEXT.sub(rf"\g<1>{MASK}", text)


def excerpt(text: str, limit: int = 200) -> str:
    """The first `limit` characters of `text` on one line, marked when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class RedactingFilter(logging.Filter):
    """A logging filter that masks `password=` values and `apikey` headers in records."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        return True


_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Attach the redacting filter to the HTTP libraries' loggers (idempotent)."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)

"""Backing off after failed charger calls, and standing still through a 429 block.

Reads and writes share it: after a failure the next call waits `error_backoff_s`,
doubling with each failure in a row up to `max_error_backoff_s`; after a 429 no call
is made until the quota resets (`reset_s` from the server, else `rate_limit_wait_s`).
Each failure comes back as the message the cycle reports.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from optimizer.cycle.settings import ControllerSettings
from optimizer.interfaces import ChargerAuthError, ChargerError, ChargerRateLimited


class Backoff:
    """When the next call to one charger may be made (times UTC, waits in s)."""

    def __init__(self, settings: ControllerSettings) -> None:
        self.error_backoff_s = settings.error_backoff_s
        self.max_error_backoff_s = settings.max_error_backoff_s
        self.rate_limit_wait_s = settings.rate_limit_wait_s
        self.retry_at: datetime | None = None
        """No call before this, after a failure."""
        self.blocked_until: datetime | None = None
        """No call before this, after a 429."""
        self.failures = 0
        """Failed calls in a row (429s and auth refusals not counted)."""

    def allows(self, now: datetime) -> bool:
        """False while backing off from errors or blocked by a 429."""
        if self.blocked_until is not None and now < self.blocked_until:
            return False
        return self.retry_at is None or now >= self.retry_at

    def not_before(self, t: datetime) -> datetime:
        """`t`, or the end of the back-off or 429 block still running at `t`."""
        for wait_until in (self.retry_at, self.blocked_until):
            if wait_until is not None and wait_until > t:
                t = wait_until
        return t

    def succeeded(self) -> None:
        """A call went through: the next failure waits the shortest back-off again."""
        self.failures = 0

    def failed(self, now: datetime, exc: ChargerError, what: str) -> str:
        """Take in the failure of call `what` at `now`; the message to report.

        An auth refusal changes nothing here: waiting cannot help, the caller decides
        whether to stop.
        """
        if isinstance(exc, ChargerAuthError):
            return f"{what} refused: {exc}"
        if isinstance(exc, ChargerRateLimited):
            wait = exc.reset_s if exc.reset_s is not None else self.rate_limit_wait_s
            self.blocked_until = now + timedelta(seconds=wait)
            return f"{what} rate-limited: no calls until {self.blocked_until:%H:%M:%S}Z"
        self.failures += 1
        wait = min(self.error_backoff_s * 2.0 ** (self.failures - 1), self.max_error_backoff_s)
        self.retry_at = now + timedelta(seconds=wait)
        return f"{what} failed ({exc}); retry in {wait:.0f} s"

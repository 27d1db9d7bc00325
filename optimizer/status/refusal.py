"""`ControlError`: a request from home refused, one line naming the field.

Its own module because both `SiteControl` and the session-target rules
(`optimizer.status.target`, shared with `v2c-solar target`) raise it.
"""

from __future__ import annotations


class ControlError(ValueError):
    """A refused request: `field` is what was wrong, `str()` one line naming it.

    `field == "device_id"` means a charger the site does not have (HTTP 404).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


STOPPED_FIELD = "daemon"
"""`ControlError.field` of a request refused because the daemon has stopped (HTTP 503)."""

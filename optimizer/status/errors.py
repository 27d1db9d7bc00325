"""Kinds of the errors a cycle meets, for the metrics and the status (`errors_by_kind`).

A cycle hands its errors back as one-line texts (`CycleResult.errors`), built in
three places: the forecast cache (`forecast failed: ...`), the back-off
(`<call> refused|rate-limited|failed ...`) and the actuator (`... deferred: ...`).
`error_kind` names the kind of each, so a dashboard can count "3 rate limits, 1 read
failure" without parsing text itself.
"""

from __future__ import annotations

ERROR_KINDS: tuple[str, ...] = (
    "forecast",
    "auth",
    "rate_limited",
    "deferred",
    "read",
    "write",
    "other",
)
"""Every kind `error_kind` answers."""

_WRITES = ("set_current", "set_pv_mode", "start", "pause", "limit_energy")
"""The `Command.kind`s: the calls whose failure is a write error."""


def error_kind(error: str) -> str:
    """The kind of one cycle error text (one of `ERROR_KINDS`)."""
    what, _, rest = error.partition(" ")
    if what == "forecast":
        return "forecast"
    if rest.startswith("refused"):
        return "auth"
    if rest.startswith("rate-limited"):
        return "rate_limited"
    if "deferred" in rest:
        return "deferred"
    if what == "read":
        return "read"
    if what in _WRITES:
        return "write"
    return "other"


__all__ = ["ERROR_KINDS", "error_kind"]

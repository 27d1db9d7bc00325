"""`GET /healthz`: is the daemon process still doing its job, or one home's daemon?

A fleet process drives many accounts, and one account's refused key stops that
account's daemons only (the others keep running). A liveness probe that turned 503
for one customer's revoked key would restart every other home with it, so without a
selector the answer is the process's: 200 while any home runs, 503 once all stopped,
`fatal` naming how many stopped and the first one's reason. With `?account=&site=`
(`adapters.web.sites`) it is that home's alone. A single home answers as it always did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.web.sites import WebSite


def home_health(home: WebSite) -> tuple[dict[str, Any], int]:
    """One home's health body and HTTP status (503 once its daemon stopped)."""
    status = home.board.current()
    body = {"ok": status.fatal is None, "fatal": status.fatal, "version": home.board.version}
    return body, 200 if status.fatal is None else 503


def process_health(homes: Sequence[WebSite]) -> tuple[dict[str, Any], int]:
    """The process's health over every served home (`homes[0]` first; see the module doc)."""
    if len(homes) == 1:
        return home_health(homes[0])
    stopped = [(h, h.board.current().fatal) for h in homes]
    stopped = [(h, fatal) for h, fatal in stopped if fatal is not None]
    running = len(homes) - len(stopped)
    fatal = None
    if stopped:
        first, reason = stopped[0]
        fatal = (
            f"{len(stopped)} of {len(homes)} homes stopped; "
            f"account {first.account!r} site {first.name!r}: {reason}"
        )
    body = {"ok": running > 0, "fatal": fatal, "version": homes[0].board.version}
    return body, 200 if running > 0 else 503


__all__ = ["home_health", "process_health"]

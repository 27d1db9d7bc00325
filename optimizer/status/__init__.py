"""What other threads see of the running site, and how they steer it.

"One place polls, everyone reads": the daemon's worker thread alone touches the
controllers, the chargers and the store. It publishes an immutable `SiteStatus`
(snapshot) on the `StatusBoard` (board) after every cycle, roll and applied
command, built by `site_status` (build); the web server and the MQTT bridge read
it, wait for the next or subscribe, and steer through `SiteControl` (control),
which validates in the caller's thread and queues for the daemon's.
`error_kind` (errors) names the kind of a cycle's error.

No web, MQTT or SQL library is imported here. Names are imported on first access
(`optimizer.lazy_exports`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from optimizer.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from optimizer.status.board import Listener, StatusBoard
    from optimizer.status.build import site_status
    from optimizer.status.control import (
        ControlError,
        ControlRequest,
        SetPolicy,
        SetTarget,
        SiteControl,
    )
    from optimizer.status.errors import ERROR_KINDS, error_kind
    from optimizer.status.plan import ChargerPlan, PlanStatus, plan_status
    from optimizer.status.snapshot import (
        MAX_DECISIONS,
        ChargerStatus,
        DecisionStatus,
        SiteStatus,
    )
    from optimizer.status.target import (
        Departure,
        SessionTarget,
        check_target,
        load_target,
        parse_departure,
        save_target,
    )

__getattr__ = lazy_exports(__name__, __file__)

__all__ = [
    "ERROR_KINDS",
    "MAX_DECISIONS",
    "ChargerPlan",
    "ChargerStatus",
    "ControlError",
    "ControlRequest",
    "DecisionStatus",
    "Departure",
    "Listener",
    "PlanStatus",
    "SessionTarget",
    "SetPolicy",
    "SetTarget",
    "SiteControl",
    "SiteStatus",
    "StatusBoard",
    "check_target",
    "error_kind",
    "load_target",
    "parse_departure",
    "plan_status",
    "save_target",
    "site_status",
]

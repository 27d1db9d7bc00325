"""The policy chosen from home survives a restart, until the configured one changes.

A user who switched to `target` from the phone expects `target` after the daemon
restarts (an update, a reboot). But a user who then edits `[policy] name` in the
config (or starts with another `--policy`) expects the file to win. So the choice
is kept in the store with the policy configured when it was made, and restored
only while the configuration still names that same policy.
"""

from __future__ import annotations

import json
import logging

from optimizer.interfaces import Store

log = logging.getLogger(__name__)

POLICY_SETTING = "policy"
"""The store's key of the policy chosen from home."""


def remember_policy(store: Store, chosen: str, configured: str) -> None:
    """Keep `chosen` (durable with the next commit), noting the policy `configured` then."""
    store.record_setting(POLICY_SETTING, json.dumps({"chosen": chosen, "configured": configured}))


def remembered_policy(store: Store, configured: str, choices: tuple[str, ...]) -> str | None:
    """The policy chosen from home to restore, None when there is none to restore.

    None when nothing was chosen, when the configuration names another policy than
    when the choice was made (the file wins), or the choice is no longer offered.
    """
    raw = store.setting(POLICY_SETTING)
    if raw is None:
        return None
    try:
        kept = json.loads(raw)
        chosen, was_configured = str(kept["chosen"]), str(kept["configured"])
    except (ValueError, KeyError, TypeError):
        log.warning("ignoring an unreadable policy choice in the database: %r", raw[:80])
        return None
    if was_configured != configured or chosen not in choices:
        return None
    return chosen


__all__ = ["POLICY_SETTING", "remember_policy", "remembered_policy"]

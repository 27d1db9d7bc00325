"""What a policy learned survives a restart: kept in the store's settings, restored.

The least-cost `target` policy learns the household's usual load per local hour (W);
a restarted daemon that began again from the configured `household_w` planned a day's
evenings on the wrong load. A policy says what it learned through its port
(`Policy.learned_state`, `Policy.restore_learned`; by default nothing): the daemon keeps
it under `learned/<policy>/<device_id>` (an account's store prefixes its own keys) when
it changed, which is when an hour folds, not every cycle, and hands it to each new
policy object (the first cycle after a start, a policy switched from home) before that
policy decides. A kept value the policy does not recognise (corrupt, another version)
is one warning, and the policy learns afresh.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from optimizer.interfaces import Store
from optimizer.policies.base import Policy

log = logging.getLogger(__name__)

LEARNED_KEY = "learned/{policy}/{device_id}"
"""The setting holding a policy's learned state for one charger (JSON)."""


class LearnedSync:
    """Per charger, the policy object last given its kept state and what was kept."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._policy: dict[str, Policy] = {}
        self._kept: dict[str, Mapping[str, object] | None] = {}

    def before_cycle(self, device: str, policy: Policy) -> None:
        """Give `policy`, when the daemon has not seen it yet at `device`, what its kind
        learned there before."""
        if self._policy.get(device) is policy:
            return
        self._policy[device], self._kept[device] = policy, None
        key = _key(policy, device)
        text = self.store.setting(key)
        if text is None:
            return
        try:
            state = json.loads(text)
            if not isinstance(state, dict):
                raise ValueError("not a JSON object")
            policy.restore_learned(state)
        except ValueError as exc:
            log.warning("%s: setting %s ignored, learning afresh: %s", device, key, exc)
            return
        self._kept[device] = policy.learned_state()

    def after_cycle(self, device: str, policy: Policy) -> None:
        """Keep what `policy` learned at `device` when it changed (durable with the next
        commit)."""
        state = policy.learned_state()
        if state is None or state == self._kept.get(device):
            return
        self.store.record_setting(_key(policy, device), json.dumps(state))
        self._kept[device] = state


def _key(policy: Policy, device_id: str) -> str:
    return LEARNED_KEY.format(policy=policy.name, device_id=device_id)


__all__ = ["LEARNED_KEY", "LearnedSync"]

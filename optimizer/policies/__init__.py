"""Charging policies: each turns a `PolicyContext` into a `Decision` with a reason."""

from optimizer.policies.base import CommandedState, Policy, PolicyContext
from optimizer.policies.registry import POLICY_NAMES, PolicyConfig, build_policy, make_policy
from optimizer.policies.tariff import TariffConfig

__all__ = [
    "POLICY_NAMES",
    "CommandedState",
    "Policy",
    "PolicyConfig",
    "PolicyContext",
    "TariffConfig",
    "build_policy",
    "make_policy",
]

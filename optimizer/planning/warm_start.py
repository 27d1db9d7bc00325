"""The plan being replaced, laid on a new plan's slots and blocks: where the next solve starts.

A replan (every 15 minutes to an hour, or on a new forecast or price) mostly keeps the
schedule it replaces: the blocks are on the clock, so the rest of the old plan is a
schedule of the new problem. Handed to HiGHS as a MIP start (`optimizer.highs_milp.MipStart`),
its modes give the search an incumbent before the root's heuristics run, and the root
stops as soon as its bound is within the gap of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from optimizer.planning.plan import ChargePlan, SlotMode

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


class BlockModes(NamedTuple):
    """Per block of the new plan: a fixed power (`fixed`, at `power_w`, W) or the
    charger's own PV mode (`following`); neither: off."""

    fixed: BoolArray
    following: BoolArray
    power_w: FloatArray


def block_modes(
    plan: ChargePlan,
    start: datetime,
    step_s: float,
    block: IntArray,
    block_cap_w: FloatArray,
    min_w: float,
    sunny: BoolArray,
) -> BlockModes | None:
    """What `plan` does in each block of a new plan of slots of `step_s` s from `start`
    (`block`: each new slot's block; `block_cap_w`: each block's most power, W;
    `sunny`: blocks with sun to follow), None where `plan` covers none of the new slots.

    Each new slot takes the old slot holding its middle; a block is fixed where any of
    its slots is (at the most power the old plan sets in it, kept within the block's
    minimum and cap; off where the cap is below the minimum), else follows the sun where
    any slot does and there is sun to follow. The new plan's slots need not lie on the
    old plan's grid (a replan starts at the moment it is made).
    """
    n = block.shape[0]
    middle_s = (start - plan.start).total_seconds() + (np.arange(n) + 0.5) * step_s
    old = np.floor(middle_s / plan.step_s).astype(np.int64)
    inside = (old >= 0) & (old < len(plan.slots))
    if not inside.any():
        return None
    modes = np.array([slot.mode for slot in plan.slots], dtype=object)
    power = np.array([slot.power_w for slot in plan.slots], dtype=np.float64)
    picked = old[inside]
    fixed_slot = np.zeros(n, dtype=bool)
    following_slot = np.zeros(n, dtype=bool)
    power_slot = np.zeros(n)
    fixed_slot[inside] = modes[picked] == SlotMode.FIXED
    following_slot[inside] = modes[picked] == SlotMode.SOLAR
    power_slot[inside] = np.where(fixed_slot[inside], power[picked], 0.0)
    blocks = block_cap_w.shape[0]
    fixed = (np.bincount(block, weights=fixed_slot, minlength=blocks) > 0) & (block_cap_w >= min_w)
    power_w = np.zeros(blocks)
    np.maximum.at(power_w, block, power_slot)
    power_w = np.where(fixed, np.clip(power_w, min_w, block_cap_w), 0.0)
    following = (np.bincount(block, weights=following_slot, minlength=blocks) > 0) & sunny
    return BlockModes(fixed, following & ~fixed, power_w)

"""A simulator's state in a file, so `simulator serve --state FILE` survives a restart.

The real cloud does not forget a charger's settings, the day's call count or
the car plugged in when its gateway restarts, and the physical world goes on
meanwhile. `save_state` writes what `Simulator.state()` returns (pickled, via
a temporary file renamed into place, so a crash mid-write leaves the old
file); `load_state` builds the simulator that goes on from it, its clock
advanced by the wall time the server was down (or on a `FileClock`'s time).
The file is trusted like the code: load only state files this simulator wrote.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from adapters.simulator.server.config import SimulatorConfig
from adapters.simulator.server.simulator import Simulator
from optimizer.clock import FileClock

STATE_FORMAT = 1
"""Bumped whenever what `Simulator.state()` holds changes shape."""


class StateFileError(ValueError):
    """A state file that cannot be read or does not fit the simulator's options."""


def save_state(sim: Simulator, path: Path) -> None:
    """Write `sim`'s state to `path` atomically."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        pickle.dump({"format": STATE_FORMAT, **sim.state()}, f, protocol=pickle.HIGHEST_PROTOCOL)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def load_state(path: Path, config: SimulatorConfig, clock: FileClock | None = None) -> Simulator:
    """The simulator saved in `path`, going on under `config` (and on `clock`, when
    given: see `Simulator.restored`); StateFileError if it cannot."""
    try:
        with path.open("rb") as f:
            state = pickle.load(f)  # our own file, see the module doc
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
        raise StateFileError(f"{path}: not a simulator state file ({exc})") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise StateFileError(f"{path}: not a simulator state file of format {STATE_FORMAT}")
    try:
        return Simulator.restored(state, config, clock)
    except ValueError as exc:
        raise StateFileError(f"{path}: {exc}") from None


__all__ = ["STATE_FORMAT", "StateFileError", "load_state", "save_state"]

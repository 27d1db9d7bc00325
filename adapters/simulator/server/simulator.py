"""The simulator's core, without HTTP: world, clock, keys, quota, settings, dispatch.

`Simulator` holds one world model and everything the cloud keeps around it.
The HTTP layer (`app.py`) asks it, per request: what time is it (which
advances the world), is this key valid, may it make another call, and what
does this operation answer. One lock serialises every access to the world,
so the HTTP thread, a background ticker and a test can all touch it.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapters.simulator.quota import DailyQuota, QuotaState
from adapters.simulator.server.config import SimulatorConfig
from adapters.simulator.server.faults import FaultInjector
from adapters.simulator.server.handlers import HANDLERS, ApiError, CallContext, WorldLike
from adapters.simulator.server.settings import DeviceSettings
from adapters.simulator.server.tally import CallTally
from adapters.simulator.server.wire import Tariff
from optimizer.clock import FileClock, ScaledClock
from optimizer.interfaces import SessionRecord

ANSWERED_WHILE_OFFLINE = frozenset({"connected", "stadistic_device"})
"""Operations the cloud answers itself while the device is offline (the rest get 504)."""


class Simulator:
    """One simulated V2C cloud account set over one world model.

    `clock` starts at the world's current time unless given (a `FileClock` another
    process drives). Without accounts
    in the config every key sees every device of the world (`pairings/me` lists
    them all); with accounts (a fleet) a key sees only its account's devices and
    `account_tallies` counts the requests of each account by name.
    """

    def __init__(
        self,
        world: WorldLike,
        config: SimulatorConfig,
        *,
        clock: ScaledClock | FileClock | None = None,
    ) -> None:
        self.world = world
        self.config = config
        self.clock = clock or ScaledClock(world.now, speed=config.speed)
        self.quota = DailyQuota(config.daily_limit)
        self.tally = CallTally()
        self.faults = FaultInjector(config.faults)
        self.tz = ZoneInfo(config.timezone)
        self.tariff = Tariff()
        self.settings = {d: DeviceSettings(d) for d in world.device_ids}
        unknown = sorted({w.device_id for w in config.faults.offline} - set(self.settings))
        if unknown:
            raise ValueError(f"offline windows name unknown devices: {', '.join(unknown)}")
        self._keys = tuple(k.get_secret_value().encode() for k in config.api_keys)
        self._key_digests = {hashlib.sha256(k).digest(): i for i, k in enumerate(self._keys)}
        every = tuple(self.settings)
        self._devices_by_key: tuple[tuple[str, ...], ...] = (every,) * len(self._keys)
        self._visible: tuple[frozenset[str], ...] = ()
        self._account_names: tuple[str | None, ...] = (None,) * len(self._keys)
        if config.accounts:
            self._bind_accounts(config)
        self.account_tallies: dict[str, CallTally] = {a.name: CallTally() for a in config.accounts}
        """Requests per account name (fleets only), beside `tally` for them all."""
        self._rng = random.Random(config.seed)
        self._lock = threading.RLock()
        revoked = config.faults.revoke_keys_at
        self._pending_snapshots = [] if revoked is None else [revoked]
        self.session_snapshots: dict[datetime, list[SessionRecord]] = {}
        """Every device's sessions as the world passed each snapshot time (the key
        revocation): the truth a client could still have read, kept because the
        world never goes back."""

    def _bind_accounts(self, config: SimulatorConfig) -> None:
        """Each key's devices and account name, in the order of `config.api_keys`."""
        unknown = sorted({d for a in config.accounts for d in a.device_ids} - set(self.settings))
        if unknown:
            raise ValueError(f"accounts name devices the world lacks: {', '.join(unknown[:5])}")
        by_key = {a.api_key.get_secret_value().encode(): a for a in config.accounts}
        accounts = [by_key[k] for k in self._keys]
        self._devices_by_key = tuple(a.device_ids for a in accounts)
        self._visible = tuple(frozenset(a.device_ids) for a in accounts)
        self._account_names = tuple(a.name for a in accounts)

    def __repr__(self) -> str:
        return f"Simulator(devices={list(self.settings)}, keys={len(self._keys)} configured)"

    @contextmanager
    def locked_world(self) -> Iterator[WorldLike]:
        """The world, advanced to the clock's time, held exclusively for the block."""
        with self._lock:
            self._advance_locked(self.clock.now())
            yield self.world

    @contextmanager
    def world_as_of(self, t: datetime) -> Iterator[WorldLike]:
        """The world advanced to `t` only (not to the clock's later time), held exclusively.

        What a client that stopped at simulated time `t` could have been told:
        the world is as of `t` unless a call has already advanced it further
        (it never goes back; its `now` says which).
        """
        with self._lock:
            self._advance_locked(t)
            yield self.world

    def now(self) -> datetime:
        """Current simulated time (UTC); steps the world's physics up to it."""
        with self._lock:
            t = self.clock.now()
            self._advance_locked(t)
            return t

    def revoke_keys_now(self) -> datetime:
        """Revoke every key at the current simulated time (the user did it in the app);
        the sessions as of that instant become its snapshot. Returns the time the keys
        are revoked from (an earlier revocation stands)."""
        with self._lock:
            now = self.clock.now()
            self._advance_locked(now)
            if not self.faults.keys_revoked(now):
                self.faults.revoke_keys(now)
                self.session_snapshots[now] = self._session_records()
            return self.faults.revoked_at or now

    def _session_records(self) -> list[SessionRecord]:
        return [log.to_record() for d in self.world.device_ids for log in self.world.sessions(d)]

    def _advance_locked(self, t: datetime) -> None:
        """Advance the world to `t`, stopping at each snapshot time on the way (lock held)."""
        while self._pending_snapshots and self._pending_snapshots[0] <= t:
            at = self._pending_snapshots.pop(0)
            self.world.advance_to(at)
            self.session_snapshots[at] = self._session_records()
        self.world.advance_to(t)

    def state(self) -> dict[str, Any]:
        """Everything a restarted simulator needs to go on where this one is (picklable):
        the world, the device settings, the quota, the tally, the random streams,
        the key revocation, the snapshots, and the simulated time with the wall time it
        was taken at."""
        with self._lock:
            now = self.clock.now()
            self._advance_locked(now)
            return {
                "seed": self.config.seed,
                "devices": list(self.settings),
                "time": now,
                "wall_time": time.time(),
                "world": self.world,
                "settings": self.settings,
                "quota": self.quota,
                "tally": self.tally,
                "rng": self._rng.getstate(),
                "faults_rng": self.faults.rng_state(),
                "revoked_at": self.faults.revoked_at,
                "session_snapshots": self.session_snapshots,
            }

    @classmethod
    def restored(
        cls, state: dict[str, Any], config: SimulatorConfig, clock: FileClock | None = None
    ) -> Simulator:
        """The simulator of `state` (from `state()`), under `config` (the same seed).

        Its clock goes on from the saved time plus the wall time since, at
        `config.speed`: the physical world did not stop while the cloud was down
        (the chargers kept their last settings), and a client's clock anchored on
        the old simulator stays in step with the new one. With a `clock` (a file
        clock its driver kept) the world goes on to that clock's time instead.
        """
        if state["seed"] != config.seed:
            raise ValueError(f"the state was saved with seed {state['seed']}, not {config.seed}")
        if clock is not None and clock.now() < state["time"]:
            raise ValueError(f"the clock file is at {clock.now()}, before the state's time")
        if clock is None:
            down_s = max(time.time() - float(state["wall_time"]), 0.0)
            start = state["time"] + timedelta(seconds=down_s * config.speed)
        sim = cls(
            state["world"],
            config,
            clock=clock or ScaledClock(start, speed=config.speed),
        )
        if list(sim.settings) != state["devices"]:
            raise ValueError(f"the state's devices are {', '.join(state['devices'])}")
        sim.settings = state["settings"]
        sim.quota = state["quota"]
        sim.tally = state["tally"]
        sim._rng.setstate(state["rng"])
        sim.faults.set_rng_state(state["faults_rng"])
        revoked_at = state.get("revoked_at")  # absent in state files of older versions
        if revoked_at is not None:
            sim.faults.revoke_keys(revoked_at)
        sim._pending_snapshots = [
            t for t in sim._pending_snapshots if t not in state["session_snapshots"]
        ]
        sim.session_snapshots = state["session_snapshots"]
        return sim

    def jump_to(self, t: datetime) -> datetime:
        """Move the simulated clock forward to `t` (never backwards) and the world with it."""
        with self._lock:
            delta_s = (t - self.clock.now()).total_seconds()
            if delta_s > 0:
                self.clock.jump(delta_s)
        return self.now()

    def is_valid_key(self, key: str | None, now: datetime) -> bool:
        """`key` is a configured key and keys are not revoked at simulated time `now`."""
        if key is None or self.faults.keys_revoked(now):
            return False
        return self._key_index(key) is not None

    def _key_index(self, key: str) -> int | None:
        """Which configured key `key` is; None for none.

        Looked up by the key's SHA-256 digest: O(1) for a fleet's hundreds of keys,
        and the time taken depends on the digest, which reveals nothing of the key.
        """
        return self._key_digests.get(hashlib.sha256(key.encode()).digest())

    def count_call(self, key: str, now: datetime) -> QuotaState:
        """Count one call of `key` against its daily quota."""
        return self.quota.consume(key, now)

    def account_of(self, key: str) -> str | None:
        """The account name of a valid `key` (fleets); None without accounts or for no key."""
        index = self._key_index(key)
        return None if index is None else self._account_names[index]

    def devices_of(self, key: str | None) -> tuple[str, ...]:
        """The devices `key` sees, in order (all of them without accounts; none for no key)."""
        index = None if key is None else self._key_index(key)
        return () if index is None else self._devices_by_key[index]

    def has_device(self, device_id: str, key: str | None = None) -> bool:
        """The world has a charger with this id, paired with `key`'s account when
        accounts are configured (another account's device is as unknown as none)."""
        if device_id not in self.settings:
            return False
        if not self.config.accounts:
            return True
        index = None if key is None else self._key_index(key)
        return index is not None and device_id in self._visible[index]

    def dispatch(
        self,
        operation_id: str,
        device_id: str | None,
        query: Mapping[str, str],
        body: Mapping[str, Any] | None,
        key: str | None = None,
    ) -> object:
        """Run one validated operation against the world; the JSON-able 200 body.

        `key` names the account whose devices account-level operations list
        (every device when None or without accounts).

        Raises ApiError for answers other than 200; 504 for an operation that
        needs a device which is offline (see `faults`).
        """
        handler = HANDLERS.get(operation_id)
        if handler is None:
            raise ApiError(501, f"operation {operation_id!r} is not simulated")
        with self._lock:
            now = self.clock.now()
            self._advance_locked(now)
            online = device_id is None or not self.faults.device_offline(device_id, now)
            if not online and operation_id not in ANSWERED_WHILE_OFFLINE:
                raise ApiError(504, f"device {device_id} is not connected")
            ctx = CallContext(
                world=self.world,
                settings=self.settings,
                device_id=device_id,
                query=query,
                body=body,
                now=now,
                tz=self.tz,
                tariff=self.tariff,
                rng=self._rng,
                online=online,
                device_ids=self.devices_of(key) if key is not None else tuple(self.settings),
            )
            return handler(ctx)

"""`GET /metrics`: the status board in the Prometheus text format (prometheus-client).

A custom collector reads the board's current snapshot at each scrape, on its own
`CollectorRegistry` (no global state: two apps in one process, as in the tests,
never see each other's metrics). Names are `v2c_solar_*`; every series has an
`account` label (`default` for a single home; a fleet's `[[accounts]]` names),
what concerns one charger a `device_id` label too. Units are in the names (watts, amperes,
watt-hours, seconds); ages are in the daemon's clock (simulated in the demo).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from optimizer.status.board import StatusBoard
from optimizer.status.snapshot import SiteStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text format's media type."""


AccountBoards = tuple[str, Sequence[StatusBoard]]
"""An account's name and the boards of its sites (a single home: `("default", [board])`)."""


class _Families:
    """Every metric family of one scrape; each site's snapshot adds its samples to them,
    labelled with its `account` (and `device_id` for a charger's)."""

    def __init__(self) -> None:
        acc, dev = ["account"], ["account", "device_id"]
        self.pv = GaugeMetricFamily(
            "v2c_solar_pv_power_watts", "PV power at the site's meter (W).", labels=acc
        )
        self.house = GaugeMetricFamily(
            "v2c_solar_house_power_watts", "Household power without the car (W).", labels=acc
        )
        self.calls_today = GaugeMetricFamily(
            "v2c_solar_calls_today", "V2C Cloud calls spent in this quota day.", labels=acc
        )
        self.calls_left = GaugeMetricFamily(
            "v2c_solar_calls_left", "V2C Cloud calls left in this quota day.", labels=acc
        )
        self.decisions = CounterMetricFamily(
            "v2c_solar_decisions", "Decisions made (one per cycle).", labels=acc
        )
        self.commands = CounterMetricFamily(
            "v2c_solar_commands", "Commands the chargers acknowledged.", labels=acc
        )
        self.errors = CounterMetricFamily(
            "v2c_solar_errors", "Cycle errors by kind.", labels=[*acc, "kind"]
        )
        self.policy = GaugeMetricFamily(
            "v2c_solar_policy", "The active policy (1).", labels=[*acc, "policy"]
        )
        self.power = GaugeMetricFamily(
            "v2c_solar_charger_power_watts", "Car charging power (W).", labels=dev
        )
        self.current = GaugeMetricFamily(
            "v2c_solar_charger_current_amperes", "Current the car draws per phase (A).", labels=dev
        )
        self.energy = GaugeMetricFamily(
            "v2c_solar_session_energy_watt_hours", "Energy of the open session (Wh).", labels=dev
        )
        self.solar = GaugeMetricFamily(
            "v2c_solar_session_solar_watt_hours",
            "Solar energy of the open session (Wh).",
            labels=dev,
        )
        self.age = GaugeMetricFamily(
            "v2c_solar_last_read_age_seconds", "Age of the last successful read (s).", labels=dev
        )

    def add_account(self, account: str, sites: Sequence[SiteStatus]) -> None:
        """An account's samples: the quota is the account's (one planner), so the calls
        are its first site's; power, counts and errors add up over its sites."""
        label = [account]
        if not sites:
            return
        first = sites[0]
        _add(self.pv, label, _total(s.pv_w for s in sites))
        _add(self.house, label, _total(s.house_w for s in sites))
        _add(self.calls_today, label, first.calls_today)
        _add(self.calls_left, label, first.calls_left)
        self.decisions.add_metric(label, sum(s.decisions_made for s in sites))
        self.commands.add_metric(label, sum(s.commands_sent for s in sites))
        errors: dict[str, int] = {}
        for s in sites:
            for kind, n in s.errors_by_kind.items():
                errors[kind] = errors.get(kind, 0) + n
        for kind, n in sorted(errors.items()):
            self.errors.add_metric([account, kind], n)
        for policy in sorted({s.policy for s in sites}):
            self.policy.add_metric([account, policy], 1.0)
        for s in sites:
            self._add_chargers(account, s)

    def _add_chargers(self, account: str, s: SiteStatus) -> None:
        for c in s.chargers:
            device = [account, c.device_id]
            _add(self.power, device, c.power_w)
            _add(self.current, device, c.current_a)
            _add(self.energy, device, c.session_energy_wh)
            _add(self.solar, device, c.session_solar_wh)
            if c.last_read_at is not None:
                age = max((s.time - c.last_read_at).total_seconds(), 0.0)
                self.age.add_metric(device, age)

    def all(self) -> Iterator[Metric]:
        yield from (self.pv, self.house, self.calls_today, self.calls_left, self.decisions)
        yield from (self.commands, self.errors, self.policy, self.power, self.current)
        yield from (self.energy, self.solar, self.age)


def _add(family: GaugeMetricFamily, labels: list[str], value: float | None) -> None:
    if value is not None:
        family.add_metric(labels, value)


def _total(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


class BoardCollector(Collector):
    """Every metric from the boards' current snapshots, at scrape time, by account."""

    def __init__(self, accounts: Sequence[AccountBoards]) -> None:
        self.accounts = tuple(accounts)

    def collect(self) -> Iterator[Metric]:
        families = _Families()
        for account, boards in self.accounts:
            families.add_account(account, [board.current() for board in boards])
        yield from families.all()


def metrics_registry(accounts: Sequence[AccountBoards]) -> CollectorRegistry:
    """A registry of its own holding only the boards' collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BoardCollector(accounts))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The registry's metrics in the text format."""
    return generate_latest(registry)


__all__ = ["CONTENT_TYPE", "AccountBoards", "BoardCollector", "metrics_registry", "render"]

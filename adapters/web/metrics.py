"""`GET /metrics`: the status board in the Prometheus text format (prometheus-client).

A custom collector reads the board's current snapshot at each scrape, on its own
`CollectorRegistry` (no global state: two apps in one process, as in the tests,
never see each other's metrics). Names are `v2c_solar_*`; every series has an
`account` label (`default` for a single home; a fleet's `[[accounts]]` names). What
concerns one home (power, decisions, commands, errors, policy) has a `site` label too
(`optimizer.accounts.site_names`: `[site] name`, else `site1`, `site2`... by place), what
concerns one charger `site` and `device_id`; the V2C quota (`calls_*`) stays per
account, one budget planner spending it for every home. A single home is `site1`
always, so a family's label names are the same for one home and for a fleet (one
dashboard and one query serve both; `sum by (account)` adds up an account's homes).
Units are in the names (watts, amperes, watt-hours, seconds); ages are in the daemon's
clock (simulated in the demo).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from optimizer.status.board import StatusBoard
from optimizer.status.snapshot import SiteStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text format's media type."""


SiteBoard = tuple[str, StatusBoard]
"""A site's name and the board its daemon publishes on."""

AccountBoards = tuple[str, Sequence[SiteBoard]]
"""An account's name and its sites, in order (one home: `("default", [("site1", board)])`)."""


class _Families:
    """Every metric family of one scrape; each site's snapshot adds its samples to them,
    labelled with its `account` and `site` (and `device_id` for a charger's); the quota's
    with its `account` only."""

    def __init__(self) -> None:
        acc, site = ["account"], ["account", "site"]
        dev = [*site, "device_id"]
        self.pv = GaugeMetricFamily(
            "v2c_solar_pv_power_watts", "PV power at the site's meter (W).", labels=site
        )
        self.house = GaugeMetricFamily(
            "v2c_solar_house_power_watts", "Household power without the car (W).", labels=site
        )
        self.calls_today = GaugeMetricFamily(
            "v2c_solar_calls_today", "V2C Cloud calls spent in this quota day.", labels=acc
        )
        self.calls_left = GaugeMetricFamily(
            "v2c_solar_calls_left", "V2C Cloud calls left in this quota day.", labels=acc
        )
        self.decisions = CounterMetricFamily(
            "v2c_solar_decisions", "Decisions made (one per cycle).", labels=site
        )
        self.commands = CounterMetricFamily(
            "v2c_solar_commands", "Commands the chargers acknowledged.", labels=site
        )
        self.errors = CounterMetricFamily(
            "v2c_solar_errors", "Cycle errors by kind.", labels=[*site, "kind"]
        )
        self.policy = GaugeMetricFamily(
            "v2c_solar_policy", "The active policy (1).", labels=[*site, "policy"]
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

    def add_account(self, account: str, sites: Sequence[tuple[str, SiteStatus]]) -> None:
        """An account's samples: the quota is the account's (one planner), so the calls
        are its first site's; everything else is each site's own."""
        if not sites:
            return
        first = sites[0][1]
        _add(self.calls_today, [account], first.calls_today)
        _add(self.calls_left, [account], first.calls_left)
        for name, status in sites:
            self._add_site([account, name], status)

    def _add_site(self, site: list[str], s: SiteStatus) -> None:
        _add(self.pv, site, s.pv_w)
        _add(self.house, site, s.house_w)
        self.decisions.add_metric(site, s.decisions_made)
        self.commands.add_metric(site, s.commands_sent)
        for kind, n in sorted(s.errors_by_kind.items()):
            self.errors.add_metric([*site, kind], n)
        self.policy.add_metric([*site, s.policy], 1.0)
        for c in s.chargers:
            device = [*site, c.device_id]
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


class BoardCollector(Collector):
    """Every metric from the boards' current snapshots, at scrape time, by account and site."""

    def __init__(self, accounts: Sequence[AccountBoards]) -> None:
        self.accounts = tuple(accounts)

    def collect(self) -> Iterator[Metric]:
        families = _Families()
        for account, boards in self.accounts:
            families.add_account(account, [(name, board.current()) for name, board in boards])
        yield from families.all()


def metrics_registry(accounts: Sequence[AccountBoards]) -> CollectorRegistry:
    """A registry of its own holding only the boards' collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BoardCollector(accounts))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The registry's metrics in the text format."""
    return generate_latest(registry)


__all__ = [
    "CONTENT_TYPE",
    "AccountBoards",
    "BoardCollector",
    "SiteBoard",
    "metrics_registry",
    "render",
]

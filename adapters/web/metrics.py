"""`GET /metrics`: the status board in the Prometheus text format (prometheus-client).

A custom collector reads the board's current snapshot at each scrape, on its own
`CollectorRegistry` (no global state: two apps in one process, as in the tests,
never see each other's metrics). Names are `v2c_solar_*`; what concerns one
charger has a `device_id` label. Units are in the names (watts, amperes,
watt-hours, seconds); ages are in the daemon's clock (simulated in the demo).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from optimizer.status.board import StatusBoard
from optimizer.status.snapshot import SiteStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text format's media type."""


def _gauge(name: str, doc: str, value: float | None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc)
    if value is not None:
        family.add_metric([], value)
    return family


def _site_metrics(s: SiteStatus) -> Iterator[Metric]:
    yield _gauge("v2c_solar_pv_power_watts", "PV power at the site's meter (W).", s.pv_w)
    yield _gauge("v2c_solar_house_power_watts", "Household power without the car (W).", s.house_w)
    yield _gauge("v2c_solar_calls_today", "V2C Cloud calls spent in this quota day.", s.calls_today)
    yield _gauge("v2c_solar_calls_left", "V2C Cloud calls left in this quota day.", s.calls_left)
    decisions = CounterMetricFamily("v2c_solar_decisions", "Decisions made (one per cycle).")
    decisions.add_metric([], s.decisions_made)
    yield decisions
    commands = CounterMetricFamily("v2c_solar_commands", "Commands the chargers acknowledged.")
    commands.add_metric([], s.commands_sent)
    yield commands
    errors = CounterMetricFamily("v2c_solar_errors", "Cycle errors by kind.", labels=["kind"])
    for kind, n in sorted(s.errors_by_kind.items()):
        errors.add_metric([kind], n)
    yield errors
    policy = GaugeMetricFamily("v2c_solar_policy", "The active policy (1).", labels=["policy"])
    policy.add_metric([s.policy], 1.0)
    yield policy


def _charger_metrics(s: SiteStatus) -> Iterator[Metric]:
    label = ["device_id"]
    power = GaugeMetricFamily(
        "v2c_solar_charger_power_watts", "Car charging power (W).", labels=label
    )
    current = GaugeMetricFamily(
        "v2c_solar_charger_current_amperes", "Current the car draws per phase (A).", labels=label
    )
    energy = GaugeMetricFamily(
        "v2c_solar_session_energy_watt_hours", "Energy of the open session (Wh).", labels=label
    )
    solar = GaugeMetricFamily(
        "v2c_solar_session_solar_watt_hours", "Solar energy of the open session (Wh).", labels=label
    )
    age = GaugeMetricFamily(
        "v2c_solar_last_read_age_seconds", "Age of the last successful read (s).", labels=label
    )
    for c in s.chargers:
        device = [c.device_id]
        if c.power_w is not None:
            power.add_metric(device, c.power_w)
        if c.current_a is not None:
            current.add_metric(device, c.current_a)
        if c.session_energy_wh is not None:
            energy.add_metric(device, c.session_energy_wh)
        if c.session_solar_wh is not None:
            solar.add_metric(device, c.session_solar_wh)
        if c.last_read_at is not None:
            age.add_metric(device, max((s.time - c.last_read_at).total_seconds(), 0.0))
    yield from (power, current, energy, solar, age)


class BoardCollector(Collector):
    """Every metric from the board's current snapshot, at scrape time."""

    def __init__(self, board: StatusBoard) -> None:
        self.board = board

    def collect(self) -> Iterator[Metric]:
        status = self.board.current()
        yield from _site_metrics(status)
        yield from _charger_metrics(status)


def metrics_registry(board: StatusBoard) -> CollectorRegistry:
    """A registry of its own holding only the board's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BoardCollector(board))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The registry's metrics in the text format."""
    return generate_latest(registry)


__all__ = ["CONTENT_TYPE", "BoardCollector", "metrics_registry", "render"]

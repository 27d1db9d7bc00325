"""`adapters/web/sessions.py`: the saving against charging from the grid at once."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from adapters.web.sessions import grid_at_once_saving, session_figures
from optimizer.interfaces import SessionRecord
from optimizer.policies.tariff import TariffConfig

VIENNA = ZoneInfo("Europe/Vienna")
TARIFF = TariffConfig(
    import_price_per_kwh=0.30, cheap_price_per_kwh=0.12, cheap_start="22:00", cheap_end="06:00"
)


def session(start_utc: datetime, cost: float | None) -> SessionRecord:
    """10 kWh, 6 of them from the sun."""
    return SessionRecord("SIM0001", start_utc, None, 10_000.0, 6_000.0, 4_000.0, cost)


def test_the_saving_is_the_plug_in_price_for_all_the_energy_less_the_cost() -> None:
    noon = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)  # 12:00 in Vienna: full price
    assert grid_at_once_saving(session(noon, 1.2), TARIFF, VIENNA) == pytest.approx(3.0 - 1.2)


def test_plugged_in_inside_the_cheap_window_at_once_would_have_paid_the_cheap_price() -> None:
    late = datetime(2026, 6, 21, 21, 0, tzinfo=UTC)  # 23:00 in Vienna
    assert grid_at_once_saving(session(late, 0.48), TARIFF, VIENNA) == pytest.approx(1.2 - 0.48)


def test_no_tariff_or_no_cost_is_no_saving() -> None:
    noon = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)
    assert grid_at_once_saving(session(noon, 1.2), None, VIENNA) is None
    assert grid_at_once_saving(session(noon, None), TARIFF, VIENNA) is None
    assert session_figures(session(noon, None))["saving"] is None

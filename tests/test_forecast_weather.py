"""The weather blend: crossover weights, quantiles kept and ordered, the offline fallback,
`[forecast]`, and the nowcast's 60-minute check on the held-out Payerne month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from optimizer.forecast.blend import Crossover, blend
from optimizer.forecast.config import ForecastConfig
from optimizer.forecast.forecaster import PvForecaster
from optimizer.forecast.sources import ForecastSource, SourcePower
from optimizer.forecast.weather import CallBudget, WeatherSeries
from optimizer.site import GRAZ
from tests.test_config import home_with, load_error

JUNE_NOON = datetime(2017, 6, 1, 10, 0, tzinfo=UTC)


class FlatWeather(ForecastSource):
    """A weather source that says `central_w` (and `low_w`, if any) everywhere, or nothing."""

    def __init__(self, central_w: float | None, low_w: float | None = None) -> None:
        self.central_w = central_w
        self.low_w = low_w

    def pv_power(self, times_s: np.ndarray) -> SourcePower | None:
        if self.central_w is None:
            return None
        low = None if self.low_w is None else np.full(times_s.shape, self.low_w)
        return SourcePower(np.full(times_s.shape, self.central_w), low)


def test_crossover_weights_are_smooth_and_end_at_one_and_zero() -> None:
    crossover = Crossover(3600.0, 4 * 3600.0)
    horizons = np.arange(0.0, 6 * 3600.0, 60.0)
    w = crossover.nowcast_weight(horizons)
    assert np.all(w[horizons <= 3600.0] == 1.0)
    assert np.all(w[horizons >= 4 * 3600.0] == 0.0)
    assert w[horizons == 2.5 * 3600.0][0] == pytest.approx(0.5)
    assert np.all(np.diff(w) <= 0.0)
    assert np.max(np.abs(np.diff(w))) < 0.02  # no step: at most 2 % a minute
    with pytest.raises(ValueError, match="nowcast_full_s < weather_full_s"):
        Crossover(3600.0, 3600.0)


def test_blend_keeps_the_nowcast_where_the_weather_knows_nothing() -> None:
    now = (np.full(3, 1000.0), np.full(3, 800.0))
    weather = (np.asarray([np.nan, 3000.0, 3000.0]), np.asarray([np.nan, 100.0, 2900.0]))
    out = blend(now, weather, np.zeros(3))
    assert out.central_w.tolist() == [1000.0, 3000.0, 3000.0]
    assert out.pessimistic_w.tolist() == [800.0, 100.0, 2900.0]
    assert np.all(out.pessimistic_w <= out.central_w)


def observed(forecaster: PvForecaster, watts: float = 3000.0) -> PvForecaster:
    for i in range(30):
        forecaster.observe(JUNE_NOON - timedelta(minutes=2 * (30 - i)), watts)
    return forecaster


def test_the_forecaster_hands_over_from_nowcast_to_weather() -> None:
    weather = observed(PvForecaster(GRAZ, calibration="off", source=FlatWeather(1500.0)))
    offline = observed(PvForecaster(GRAZ, calibration="off"))
    end = JUNE_NOON + timedelta(hours=6)
    a = weather.forecast(JUNE_NOON, end)
    b = offline.forecast(JUNE_NOON, end)
    first_hour = slice(0, 55)
    assert np.array_equal(a.central_w[first_hour], b.central_w[first_hour])
    assert np.array_equal(a.pessimistic_w[first_hour], b.pessimistic_w[first_hour])
    beyond = slice(4 * 60 + 5, None)
    assert np.allclose(a.central_w[beyond], np.minimum(1500.0, weather.ac_limit_w))
    assert np.all(a.pessimistic_w <= a.central_w)
    # without the provider's quantile: the site's error climatology below the weather
    assert np.all(a.pessimistic_w[beyond] < 1500.0)
    assert not weather.depends_only_on_observations


def test_the_providers_own_low_quantile_is_kept() -> None:
    forecaster = observed(PvForecaster(GRAZ, calibration="off", source=FlatWeather(2000.0, 700.0)))
    fc = forecaster.forecast(JUNE_NOON + timedelta(hours=5), JUNE_NOON + timedelta(hours=6))
    assert np.allclose(fc.central_w, 2000.0)
    assert np.allclose(fc.pessimistic_w, 700.0)


def test_no_weather_is_the_offline_forecast_exactly() -> None:
    down = observed(PvForecaster(GRAZ, source=FlatWeather(None)))
    offline = observed(PvForecaster(GRAZ))
    end = JUNE_NOON + timedelta(hours=36)
    a, b = down.forecast(JUNE_NOON, end), offline.forecast(JUNE_NOON, end)
    assert np.array_equal(a.central_w, b.central_w)
    assert np.array_equal(a.pessimistic_w, b.pessimistic_w)


def test_weather_series_interpolates_and_knows_its_span() -> None:
    series = WeatherSeries("x", 0.0, np.asarray([0.0, 600.0]), np.asarray([0.0, 600.0]))
    power = series.at(np.asarray([-1.0, 300.0, 601.0]))
    assert np.isnan(power.central_w[0]) and power.central_w[1] == 300.0
    assert np.isnan(power.central_w[2])
    with pytest.raises(ValueError, match="not increasing"):
        WeatherSeries("x", 0.0, np.asarray([1.0, 1.0]), np.asarray([0.0, 0.0]))


def test_call_budget_slides() -> None:
    budget = CallBudget(2, 3600.0)
    budget.spend(0.0)
    budget.spend(10.0)
    assert budget.left(3599.0) == 0
    assert budget.left(3600.0) == 1


def test_forecast_config_defaults_offline_and_validates() -> None:
    assert ForecastConfig().provider == "offline"
    with pytest.raises(ValidationError, match=r"needs \[forecast\.solcast\] resource_id"):
        ForecastConfig(provider="solcast", refresh_min=180)
    with pytest.raises(ValidationError, match="solcast allows at least 150"):
        ForecastConfig(provider="solcast", refresh_min=60, solcast={"resource_id": "abcd"})
    with pytest.raises(ValidationError, match="must be after nowcast_full_h"):
        ForecastConfig(nowcast_full_h=3.0, weather_full_h=2.0)


def test_forecast_section_errors_are_one_line(tmp_path: Path) -> None:
    path = home_with(tmp_path, '# provider = "open_meteo"', 'provider = "accuweather"')
    path.write_text(path.read_text().replace("# [forecast]\n", "[forecast]\n"))
    message = load_error(path)
    assert message.startswith("forecast.provider:"), message


@pytest.mark.data
def test_the_nowcast_beats_smart_persistence_at_60_min_on_payerne() -> None:
    """Payerne June 2016 was never used to tune the nowcast (it was tuned on Graz 2017)."""
    from adapters.datasets import PAYERNE, load_bsrn_payerne_pv
    from optimizer.forecast.evaluation import evaluate

    scores = evaluate(load_bsrn_payerne_pv(), PAYERNE)
    mae = scores.mae_w[60]
    assert mae["forecast"] < 0.97 * mae["smart_persistence"], mae


def test_run_names_a_missing_solcast_key_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from optimizer.cli.main import app

    path = home_with(tmp_path, '# provider = "open_meteo"', 'provider = "solcast"')
    text = path.read_text().replace("# [forecast]\n", "[forecast]\n")
    text = text.replace("# refresh_min = 30 ", "refresh_min = 180 ")
    text = text.replace("# [forecast.solcast]", "[forecast.solcast]")
    text = text.replace('# resource_id = "abcd', 'resource_id = "abcd')
    path.write_text(text)
    monkeypatch.setenv("V2C_API_KEY", "k")
    monkeypatch.delenv("SOLCAST_API_KEY", raising=False)
    db = tmp_path / "x.db"
    result = CliRunner().invoke(
        app, ["run", "--web", "127.0.0.1:0", "--config", str(path), "--db", f"sqlite:///{db}"]
    )
    assert result.exit_code == 2, result.output
    assert (
        result.output.strip() == "error: [forecast] solcast: set SOLCAST_API_KEY in the environment"
    )
    assert not db.exists()


def test_the_composition_root_wires_the_weather_source_only_when_given() -> None:
    from optimizer.composition import build_site, build_weather_source
    from optimizer.config import load_config
    from tests.conftest import FakeCharger, FakeClock, FakeStore, World
    from tests.test_config import HOME

    config = load_config(HOME)
    clock = FakeClock()
    assert build_weather_source(config, clock, {}) is None  # offline by default

    def charger(_id: str, _listener: object) -> FakeCharger:
        return FakeCharger(clock, World())

    source = FlatWeather(1000.0)
    site = build_site(config, charger, clock, FakeStore(), weather=source)
    assert site.forecaster.source is source
    offline = build_site(config, charger, clock, FakeStore())
    assert offline.forecaster.source is None


def test_the_commented_forecast_section_of_home_toml_is_a_valid_config(tmp_path: Path) -> None:
    from optimizer.config import load_config
    from tests.test_config import HOME

    text = HOME.read_text(encoding="utf-8")
    head, tail = text.split("\n# [forecast]", 1)
    tail = "# [forecast]" + tail.split("\n# --- ")[0]
    section = "\n".join(line.removeprefix("# ") for line in tail.splitlines())
    path = tmp_path / "home.toml"
    path.write_text(head + "\n" + section + "\n", encoding="utf-8")
    config = load_config(path).forecast
    assert config.provider == "open_meteo" and config.solcast is not None
    assert config.crossover.weather_full_s == 4 * 3600.0

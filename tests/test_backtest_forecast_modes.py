"""`--forecast` modes: the oracle sees the truth, an archived forecast only after its issue
time, archives are read as Open-Meteo answers, and the persistence generator is causal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from adapters.simulator.inprocess import SimClock, WorldCharger
from adapters.storage.memory import MemoryStore
from adapters.weather.archive import ArchiveError, read_archive
from optimizer.backtest.engine import (
    BacktestInputs,
    BacktestSetup,
    build_contender_site,
    build_world,
    policy_contender,
)
from optimizer.backtest.forecast_modes import ORACLE_CROSSOVER, TruePv, archived, oracle
from optimizer.backtest.persistence_forecasts import Measured, answer_at, write_archive
from optimizer.forecast import PvForecaster
from optimizer.interfaces import CallListener, Charger
from optimizer.pvmodel import clear_sky_pv, pv_from_poa
from optimizer.site import GRAZ
from tests.conftest import FakeClock

DAY = datetime(2017, 6, 10, tzinfo=UTC)


def _cloudy_pv(start: datetime, days: int, seed: int) -> pd.Series:
    """Clear-sky PV of Graz times a random, minute-scale cloud factor (W)."""
    index = pd.date_range(start, periods=days * 1440, freq="min")
    rng = np.random.default_rng(seed)
    clouds = np.clip(np.cumsum(rng.normal(0, 0.05, index.size)) % 1.0 + 0.2, 0, 1)
    return pd.Series(clear_sky_pv(GRAZ, index).to_numpy() * clouds, index=index, name="pv_w")


def _answer(issue: datetime, gti: float, hours: int = 48, **extra: Any) -> dict[str, Any]:
    ends = [issue + timedelta(hours=h + 1) for h in range(hours)]
    return {
        "utc_offset_seconds": 0,
        "hourly": {
            "time": [t.strftime("%Y-%m-%dT%H:%M") for t in ends],
            "global_tilted_irradiance": [gti] * hours,
        },
        "issue_time": issue.isoformat(),
        **extra,
    }


def _write_jsonl(path: Path, answers: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in answers))
    return path


def test_the_oracle_forecast_is_the_measured_pv() -> None:
    pv = _cloudy_pv(DAY, 1, seed=1)
    forecaster = PvForecaster(
        GRAZ, calibration="off", source=TruePv(pv), crossover=ORACLE_CROSSOVER.crossover
    )
    now = DAY + timedelta(hours=8)
    forecaster.observe(now, float(pv.loc[now]))
    fc = forecaster.forecast(now + timedelta(minutes=1), DAY + timedelta(hours=20), 60.0)
    truth = pv.loc[now + timedelta(minutes=1) : DAY + timedelta(hours=20) - timedelta(minutes=1)]
    expected = np.minimum(truth.to_numpy(), forecaster.ac_limit_w)
    np.testing.assert_allclose(fc.central_w, expected, atol=1e-6)
    np.testing.assert_allclose(fc.pessimistic_w, expected, atol=1e-6)


def test_an_archived_forecast_is_seen_only_from_its_issue_time(tmp_path: Path) -> None:
    first, second = DAY, DAY + timedelta(hours=6)
    path = _write_jsonl(tmp_path / "a.jsonl", [_answer(first, 300.0), _answer(second, 800.0)])
    mode = archived("file:a", read_archive(path, GRAZ))
    assert mode.make_source is not None
    clock = FakeClock(first - timedelta(minutes=1))
    made = mode.make_source(clock)
    (job,) = made.jobs  # the daemon's background refresh, as at home
    noon = np.array([(DAY + timedelta(hours=10, minutes=30)).timestamp()])

    def power() -> float | None:
        job.run(clock.t)
        answer = made.source.pv_power(noon)
        return None if answer is None else float(answer.central_w[0])

    assert power() is None  # nothing issued yet
    clock.t = first
    low = power()
    assert job.run(first) == second  # comes back when the next forecast is issued
    clock.t = second - timedelta(seconds=1)
    assert power() == low
    clock.t = second
    high = power()
    assert low is not None and high is not None and high > 2 * low


def test_tilted_irradiance_becomes_the_sites_pv_model_power(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "a.jsonl", [_answer(DAY, 500.0, hours=4)])
    (series,) = read_archive(path, GRAZ)
    assert series.issued_s == DAY.timestamp()
    mids = pd.date_range(DAY + timedelta(minutes=30), periods=4, freq="h")
    np.testing.assert_allclose(series.times_s, mids.as_unit("ns").asi8 / 1e9)
    expected = pv_from_poa(GRAZ.arrays[0], pd.Series(500.0, index=mids), 20.0)
    np.testing.assert_allclose(series.central_w, expected.to_numpy())


def test_horizontal_irradiance_is_transposed_onto_the_plane(tmp_path: Path) -> None:
    answer = _answer(DAY, 0.0, hours=24)
    hourly = answer["hourly"]
    hourly["shortwave_radiation"] = [600.0] * 24
    del hourly["global_tilted_irradiance"]
    (series,) = read_archive(_write_jsonl(tmp_path / "a.jsonl", [answer]), GRAZ)
    noon = int(np.argmin(np.abs(series.times_s - (DAY + timedelta(hours=10)).timestamp())))
    night = int(np.argmin(np.abs(series.times_s - (DAY + timedelta(hours=22)).timestamp())))
    assert series.central_w[noon] > 3000.0
    assert series.central_w[night] < series.central_w[noon] / 10


def _bad(**changes: Any) -> str:
    """An answer with `changes` (None drops the key), as one JSON line."""
    answer = _answer(DAY, 1.0) | changes
    return json.dumps({k: v for k, v in answer.items() if v is not None})


GTI = "global_tilted_irradiance"


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("{not json", "not JSON"),
        ('["a list"]', "expected a JSON object"),
        (_bad(issue_time=None), "no 'issue_time'"),
        (_bad(issue_time="2017-06-10T00:00"), "no UTC offset"),
        (_bad(issue_time="yesterday"), "not ISO 8601"),
        (_bad(hourly={"time": ["2017-06-10T01:00"] * 2}), "neither"),
        (_bad(hourly={"time": ["x", "y"], GTI: [1, 2]}), "ISO 8601"),
        (_bad(hourly={"time": [1], GTI: "no"}), "hourly"),
    ],
)
def test_a_bad_archive_line_is_one_error_naming_file_and_line(
    tmp_path: Path, line: str, needle: str
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(_answer(DAY - timedelta(hours=6), 1.0)) + "\n\n" + line + "\n")
    with pytest.raises(ArchiveError) as info:
        read_archive(path, GRAZ)
    message = str(info.value)
    assert "\n" not in message and f"{path}:3:" in message and needle in message, message


def test_two_forecasts_issued_at_once_are_refused(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "a.jsonl", [_answer(DAY, 1.0), _answer(DAY, 2.0)])
    with pytest.raises(ArchiveError, match=rf"{path}:2: issue_time .* again \(first at {path}:1\)"):
        read_archive(path, GRAZ)


def test_a_directory_of_answers_is_an_archive(tmp_path: Path) -> None:
    for i, gti in enumerate((100.0, 200.0)):
        answer = _answer(DAY + timedelta(hours=6 * i), gti)
        (tmp_path / f"{i}.json").write_text(json.dumps(answer))
    issued = [s.issued_s for s in read_archive(tmp_path, GRAZ)]
    assert issued == [DAY.timestamp(), (DAY + timedelta(hours=6)).timestamp()]


def test_no_persistence_forecast_depends_on_a_measurement_after_its_issue() -> None:
    pv = _cloudy_pv(DAY - timedelta(days=35), 40, seed=7)
    issue = DAY + timedelta(hours=12)
    rng = np.random.default_rng(3)
    future = pv.copy()
    after = future.index >= issue
    future[after] = future[after] * rng.uniform(0.0, 1.5, int(after.sum()))
    past = pv.copy()
    before = (past.index < issue) & (past.index >= issue - timedelta(hours=30))
    past[before] = past[before] * 0.5

    def answer(series: pd.Series) -> dict[str, Any]:
        return answer_at(Measured.of(series, GRAZ), GRAZ, issue, "global_tilted_irradiance")

    assert answer(future) == answer(pv)
    assert answer(past) != answer(pv)  # the test can fail: the past does move it


def test_the_generated_file_is_read_back_as_the_archive(tmp_path: Path) -> None:
    pv = _cloudy_pv(DAY - timedelta(days=5), 7, seed=11)
    out = tmp_path / "gen.jsonl"
    n = write_archive(pv, GRAZ, DAY, DAY + timedelta(days=1), out)
    forecasts = read_archive(out, GRAZ)
    assert n == len(forecasts) == 4
    assert [s.issued_s for s in forecasts] == [
        (DAY + timedelta(hours=h)).timestamp() for h in (0, 6, 12, 18)
    ]
    first = json.loads(out.read_text().splitlines()[0])
    assert "NOT Open-Meteo's forecast" in first["made_by"]
    assert all(np.nanmax(s.central_w) > 0 for s in forecasts)


def test_the_backtest_hands_the_oracle_to_the_sites_forecaster() -> None:
    pv = _cloudy_pv(DAY, 2, seed=5)
    inputs = BacktestInputs(
        pv_w=pv,
        house_w=pd.Series(300.0, index=pv.index),
        sessions=pd.DataFrame(columns=["arrival", "departure", "energy_kwh"]),
        start=DAY,
        end=DAY + timedelta(days=1),
        site=GRAZ,
    )
    setup = BacktestSetup(forecast=oracle(pv))
    world = build_world(inputs, setup)
    clock = SimClock(DAY + timedelta(hours=9))

    def charger(device_id: str, listener: CallListener) -> Charger:
        return WorldCharger(world, device_id, clock, listener)

    site = build_contender_site(
        inputs, policy_contender("solar_only"), setup, charger, clock, MemoryStore()
    )
    now = clock.now()
    site.forecaster.observe(now, float(pv.loc[now]))
    fc = site.forecaster.forecast(now + timedelta(minutes=1), now + timedelta(hours=3), 60.0)
    truth = pv.loc[now + timedelta(minutes=1) : now + timedelta(hours=3) - timedelta(minutes=1)]
    expected = np.minimum(truth.to_numpy() * site.forecaster.ratio, site.forecaster.ac_limit_w)
    np.testing.assert_allclose(fc.central_w, expected, atol=1e-6)
    offline = build_contender_site(
        inputs, policy_contender("solar_only"), BacktestSetup(), charger, clock, MemoryStore()
    )
    assert offline.forecaster.source is None and offline.jobs == ()


def test_the_backtest_hands_an_archive_and_its_refresh_job_to_the_site(tmp_path: Path) -> None:
    pv = _cloudy_pv(DAY, 2, seed=5)
    inputs = BacktestInputs(
        pv_w=pv,
        house_w=pd.Series(300.0, index=pv.index),
        sessions=pd.DataFrame(columns=["arrival", "departure", "energy_kwh"]),
        start=DAY,
        end=DAY + timedelta(days=1),
        site=GRAZ,
    )
    path = _write_jsonl(tmp_path / "a.jsonl", [_answer(DAY, 0.0)])
    setup = BacktestSetup(forecast=archived("file:a", read_archive(path, GRAZ)))
    world = build_world(inputs, setup)
    clock = SimClock(DAY + timedelta(hours=9))

    def charger(device_id: str, listener: CallListener) -> Charger:
        return WorldCharger(world, device_id, clock, listener)

    site = build_contender_site(
        inputs, policy_contender("solar_only"), setup, charger, clock, MemoryStore()
    )
    (job,) = site.jobs  # the daemon runs it beside the cycles, in simulated time
    now = clock.now()
    site.forecaster.observe(now, float(pv.loc[now]))
    later = (now + timedelta(hours=5), now + timedelta(hours=6))
    before = site.forecaster.forecast(*later, 60.0).central_w
    job.run(now)
    after = site.forecaster.forecast(*later, 60.0).central_w
    assert before.max() > 1000.0 and after.max() < 1.0  # the archive's dark sky took over

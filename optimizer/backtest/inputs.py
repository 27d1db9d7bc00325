"""Loading and validating the user's backtest files: PV, household, sessions, prices.

Files are CSV (comma, semicolon or tab separated; a semicolon file may use decimal
commas) or Parquet (needs pyarrow). Column names are matched case-insensitively after
stripping blanks. Expected columns:

* PV: `timestamp` and one of `pv_w` (AC power, W), `poa_w_m2` or `ghi_w_m2` (irradiance,
  W/m², only loaded and validated here; converting it to PV power is done elsewhere);
* household: `timestamp, house_w` (W, car excluded);
* prices: `timestamp, price_per_kwh` (currency per kWh, may be negative);
* sessions: `arrival, departure, energy_kwh`, optional `max_current_a, phases`.

Times: ISO 8601 text (`2024-06-01 12:00`, `2024-06-01T12:00:00+02:00`, `...Z`) or
Parquet datetimes. Timestamps with an offset are converted to UTC; naive ones are local
time in the zone `tz` (the site config's zone). Local times that occur twice at the end
of summer time are resolved by order (`ambiguous="order"`: the first occurrence is
summer time, the second winter time) or refused (`"raise"`); local times that do not
exist at the start of summer time are dropped (`nonexistent="drop"`, logged and listed in
`series.attrs["dropped_rows"]`), shifted forward, or refused.

Power samples are interval means labelled by the interval start. An empty numeric cell
is a missing sample (a gap); anything else that is not a number is an error. Small
negative powers down to `-negative_tolerance` (inverter standby, sensor offset at night)
are set to 0; larger ones are errors, and so are values above `MAXIMA` (a unit or
typing error: 1e12 W of PV is not a home).

Every problem raises `InputError` with one line naming the file, the row (1-based as in
the file, the CSV header being row 1; for Parquet the 1-based data row) and the column.

`resample_to_step` puts a loaded series on the simulation grid and reports gaps.
"""

from __future__ import annotations

import csv
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

Ambiguous = Literal["order", "raise"]
Nonexistent = Literal["drop", "shift_forward", "raise"]
LongGap = Literal["raise", "nan", "interpolate"]

PV_COLUMNS = ("pv_w", "poa_w_m2", "ghi_w_m2")
"""Accepted PV columns, in order of preference."""

MAXIMA = {
    "pv_w": 1e6,
    "house_w": 1e6,
    "poa_w_m2": 2000.0,
    "ghi_w_m2": 2000.0,
    "energy_kwh": 300.0,
    "max_current_a": 80.0,
}
"""Largest plausible value per column: a value above it is a unit or typing error.

Powers (W): 1 MW, the PV of the largest array a site config allows (1000 kWp).
Irradiance (W/m²): 2000, above any cloud-enhanced peak. Sessions: 300 kWh and 80 A,
the limits of the world model's car.
"""

DEFAULT_MAX_GAP_S = 900.0
"""Longest gap filled by interpolation without being told (s): 15 minutes."""

_OFFSET_AT_END = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?)$"


class InputError(ValueError):
    """A user file is unusable; the message is one line naming file, row and column."""

    def __init__(
        self, message: str, *, file: str, row: int | None = None, column: str | None = None
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.reason = message
        where = [file]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}")


@dataclass(frozen=True)
class _Table:
    """A file's cells, with how to turn a 0-based data index into the file's row number."""

    frame: pd.DataFrame
    file: str
    first_row: int  # file row number of data index 0
    decimal_comma: bool
    header_row: int | None

    def row(self, position: int) -> int:
        """File row of the data row at `position` (blank CSV lines keep their numbers)."""
        return self.first_row + int(self.frame.index[position])


# --------------------------------------------------------------------------- reading


def _read_table(path: str | Path) -> _Table:
    path = Path(path)
    name = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise InputError(f"unknown extension '{suffix}': use .csv or .parquet", file=name)
    if not path.is_file():
        raise InputError("file not found", file=name)
    table = _read_csv(path) if suffix == ".csv" else _read_parquet(path)
    if table.frame.empty:
        raise InputError("empty file: no data rows", file=name)
    return table


def _read_csv(path: Path) -> _Table:
    name = str(path)
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    if not header.strip():
        raise InputError("empty file", file=name)
    sep = ";" if header.count(";") > header.count(",") else ","
    if "\t" in header and header.count("\t") > header.count(sep):
        sep = "\t"
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save the file as UTF-8",
            file=name,
        ) from None
    except pd.errors.ParserError as exc:
        # "Error tokenizing data. C error: Expected 2 fields in line 4322, saw 4"
        reason = str(exc).strip().splitlines()[0].removeprefix("Error tokenizing data. ")
        raise InputError(
            f"not a valid CSV table: {reason.removeprefix('C error: ')}", file=name
        ) from None
    # pandas renames a repeated header (`pv_w`, `pv_w.1`): check the header line itself.
    _refuse_duplicate_columns(next(csv.reader([header], delimiter=sep)), name, header_row=1)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    frame = frame.dropna(how="all")  # blank lines keep their row numbers via the index
    return _Table(frame, name, first_row=2, decimal_comma=sep == ";", header_row=1)


def _read_parquet(path: Path) -> _Table:
    name = str(path)
    if importlib.util.find_spec("pyarrow") is None:
        raise InputError("reading Parquet needs pyarrow: pip install pyarrow", file=name)
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:
        raise InputError(f"not a readable Parquet file ({exc})", file=name) from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    _refuse_duplicate_columns(list(frame.columns), name, header_row=None)
    frame = frame.reset_index(drop=True)
    return _Table(frame, name, first_row=1, decimal_comma=False, header_row=None)


def _refuse_duplicate_columns(columns: list[str], file: str, header_row: int | None) -> None:
    """Column names are matched case-insensitively: `pv_w` and `PV_W` would be ambiguous."""
    names = pd.Index([str(c).strip().lower() for c in columns])
    clash = names[names.duplicated()]
    if len(clash):
        raise InputError(
            f"column '{clash[0]}' appears twice (names ignore case and blanks)",
            file=file,
            row=header_row,
        )


def _require(table: _Table, column: str) -> pd.Series:
    if column not in table.frame.columns:
        found = ", ".join(table.frame.columns)
        raise InputError(
            f"missing column '{column}' (found: {found})", file=table.file, row=table.header_row
        )
    return table.frame[column]


# --------------------------------------------------------------------------- parsing


def _parse_times(
    table: _Table,
    column: str,
    tz: str,
    ambiguous: Ambiguous,
    nonexistent: Nonexistent,
) -> pd.Series:
    """A column of times as UTC timestamps (NaT for dropped nonexistent local times)."""
    raw = _require(table, column)
    positions = np.arange(len(raw))
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        parsed = pd.Series(pd.DatetimeIndex(raw).tz_convert("UTC"), index=raw.index)
        _refuse_first(table, column, parsed.isna().to_numpy(), "missing time")
        return parsed
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        naive = pd.DatetimeIndex(raw)
        _refuse_first(table, column, naive.isna(), "missing time")
        return _localize(table, column, naive, tz, ambiguous, nonexistent, raw.index)
    text = raw.astype(str).str.strip().where(raw.notna(), "")
    _refuse_first(table, column, (text == "").to_numpy(), "missing time")
    aware = text.str.contains(_OFFSET_AT_END, regex=True).to_numpy(dtype=bool)
    if aware.any() and not aware.all():
        bad = int(positions[aware != aware[0]][0])
        kind = "has a UTC offset" if aware[bad] else "has no UTC offset"
        raise InputError(
            f"time '{text.iloc[bad]}' {kind}, unlike the first row: mix of local and offset times",
            file=table.file,
            row=table.row(bad),
            column=column,
        )
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=bool(aware.all()))
    _refuse_first(
        table,
        column,
        parsed.isna().to_numpy(),
        lambda p: (
            f"cannot read time '{text.iloc[p]}' (expected ISO 8601 such as "
            "2024-06-01 12:00 or 2024-06-01T12:00+02:00)"
        ),
    )
    if aware.all():
        return parsed
    return _localize(table, column, pd.DatetimeIndex(parsed), tz, ambiguous, nonexistent, raw.index)


def _localize(
    table: _Table,
    column: str,
    naive: pd.DatetimeIndex,
    tz: str,
    ambiguous: Ambiguous,
    nonexistent: Nonexistent,
    index: pd.Index,
) -> pd.Series:
    """Naive local times to UTC, resolving the DST transitions as documented."""
    first_seen = ~pd.Series(naive).duplicated(keep="first").to_numpy()
    by_order = naive.tz_localize(tz, ambiguous=first_seen, nonexistent="NaT")
    if ambiguous == "raise":
        strict = naive.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        _refuse_first(
            table,
            column,
            strict.isna() & ~by_order.isna(),
            lambda p: (
                f"local time {naive[p]} occurs twice in {tz} (end of summer time); "
                "use UTC offsets or ambiguous='order'"
            ),
        )
    missing = by_order.isna()
    if missing.any():
        bad_positions = np.flatnonzero(missing)
        rows = [table.row(int(p)) for p in bad_positions]
        if nonexistent == "raise":
            raise InputError(
                f"local time {naive[bad_positions[0]]} does not exist in {tz} "
                "(start of summer time)",
                file=table.file,
                row=rows[0],
                column=column,
            )
        if nonexistent == "shift_forward":
            by_order = naive.tz_localize(tz, ambiguous=first_seen, nonexistent="shift_forward")
        else:
            log.warning(
                "%s: dropped %d nonexistent local times, rows %s", table.file, len(rows), rows[:10]
            )
    return pd.Series(by_order.tz_convert("UTC"), index=index)


def _refuse_first(
    table: _Table, column: str, mask: np.ndarray, message: str | Callable[[int], str]
) -> None:
    """InputError at the first row where `mask` holds; `message` may be built from its
    position (0-based, in the table's order)."""
    if mask.any():
        p = int(np.flatnonzero(mask)[0])
        what = message if isinstance(message, str) else message(p)
        raise InputError(what, file=table.file, row=table.row(p), column=column)


def _parse_numbers(
    table: _Table,
    column: str,
    *,
    allow_missing: bool,
    minimum: float | None = None,
    negative_tolerance: float = 0.0,
) -> np.ndarray:
    """A numeric column as float64; NaN for empty cells when allowed."""
    raw = _require(table, column)
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        values = raw.to_numpy(dtype=np.float64)
        empty = np.isnan(values)
        text = raw.astype(str)
    else:
        text = raw.astype(str).str.strip().where(raw.notna(), "")
        empty = (text == "").to_numpy()
        candidate = text.str.replace(",", ".", regex=False) if table.decimal_comma else text
        values = pd.to_numeric(candidate, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(values) & ~empty | np.isinf(values)
        _refuse_first(table, column, bad, lambda p: f"not a number: '{text.iloc[p]}'")
    if not allow_missing:
        _refuse_first(table, column, empty, "missing value")
    if minimum is not None:
        _refuse_values(
            table,
            column,
            values,
            values < minimum - negative_tolerance,
            "below the allowed minimum",
            minimum,
        )
        values = np.where(values < minimum, minimum, values)
    maximum = MAXIMA.get(column)
    if maximum is not None:
        _refuse_values(
            table, column, values, values > maximum, "above the plausible maximum", maximum
        )
    return values


def _refuse_values(
    table: _Table, column: str, values: np.ndarray, bad: np.ndarray, what: str, bound: float
) -> None:
    """InputError at the first `bad` value: `value V is <what> <bound>`."""
    _refuse_first(table, column, bad, lambda p: f"value {values[p]:g} is {what} {bound:g}")


def _refuse_duplicates(table: _Table, column: str, times: pd.Series) -> None:
    valid = times.dropna()
    duplicated = valid.duplicated(keep="first").to_numpy()
    if duplicated.any():
        label = valid.index[int(np.flatnonzero(duplicated)[0])]
        first_label = valid.index[(valid == valid.loc[label]).to_numpy()][0]
        raise InputError(
            f"duplicate time {valid.loc[label]} (UTC), first at row "
            f"{table.row(times.index.get_loc(first_label))}",
            file=table.file,
            row=table.row(times.index.get_loc(label)),
            column=column,
        )


# --------------------------------------------------------------------------- loaders


@dataclass(frozen=True, slots=True)
class _LocalTimes:
    """How a file's naive timestamps become UTC: they are local times of `tz`, and
    `ambiguous` / `nonexistent` say what DST's repeated and skipped hours do."""

    tz: str
    ambiguous: Ambiguous
    nonexistent: Nonexistent


def _load_series(
    path: str | Path,
    column: str | tuple[str, ...],
    local: _LocalTimes,
    *,
    minimum: float | None,
    negative_tolerance: float,
) -> pd.Series:
    table = _read_table(path)
    if isinstance(column, tuple):
        present = [c for c in column if c in table.frame.columns]
        if not present:
            found = ", ".join(table.frame.columns)
            raise InputError(
                f"missing column: one of {', '.join(column)} (found: {found})",
                file=table.file,
                row=table.header_row,
            )
        column = present[0]
    times = _parse_times(table, "timestamp", local.tz, local.ambiguous, local.nonexistent)
    values = _parse_numbers(
        table, column, allow_missing=True, minimum=minimum, negative_tolerance=negative_tolerance
    )
    _refuse_duplicates(table, "timestamp", times)
    keep = times.notna().to_numpy()
    series = pd.Series(values[keep], index=pd.DatetimeIndex(times[keep], name="timestamp"))
    series = series.sort_index().rename(column)
    series.attrs["source"] = table.file
    series.attrs["dropped_rows"] = [table.row(int(p)) for p in np.flatnonzero(~keep)]
    return series


def load_pv(
    path: str | Path,
    *,
    tz: str = "UTC",
    negative_tolerance: float = 10.0,
    ambiguous: Ambiguous = "order",
    nonexistent: Nonexistent = "drop",
) -> pd.Series:
    """PV power (W) or irradiance (W/m²) from `path`, indexed by UTC time.

    The Series is named after the column found (`pv_w`, `poa_w_m2` or `ghi_w_m2`, in that
    order of preference), so callers know whether to convert irradiance to power.
    """
    local = _LocalTimes(tz, ambiguous, nonexistent)
    return _load_series(path, PV_COLUMNS, local, minimum=0.0, negative_tolerance=negative_tolerance)


def load_house(
    path: str | Path,
    *,
    tz: str = "UTC",
    negative_tolerance: float = 10.0,
    ambiguous: Ambiguous = "order",
    nonexistent: Nonexistent = "drop",
) -> pd.Series:
    """Household consumption without the car (`house_w`, W), indexed by UTC time."""
    local = _LocalTimes(tz, ambiguous, nonexistent)
    return _load_series(path, "house_w", local, minimum=0.0, negative_tolerance=negative_tolerance)


def load_prices(
    path: str | Path,
    *,
    tz: str = "UTC",
    ambiguous: Ambiguous = "order",
    nonexistent: Nonexistent = "drop",
) -> pd.Series:
    """Grid energy price (`price_per_kwh`, currency/kWh, may be negative) by UTC time."""
    local = _LocalTimes(tz, ambiguous, nonexistent)
    return _load_series(path, "price_per_kwh", local, minimum=None, negative_tolerance=0.0)


SESSION_COLUMNS = ["arrival", "departure", "energy_kwh", "max_current_a", "phases"]


def load_sessions(
    path: str | Path,
    *,
    tz: str = "UTC",
    ambiguous: Ambiguous = "order",
    nonexistent: Nonexistent = "shift_forward",
) -> pd.DataFrame:
    """Plug-in sessions, sorted by arrival, with UTC `arrival` and `departure`.

    `energy_kwh` (>= 0) is the energy wanted by departure; `max_current_a` (A, > 0,
    NaN if not given) the car's limit; `phases` (1, 2 or 3; <NA> if not given).
    Departure must be after arrival and sessions must not overlap (one charger).
    """
    table = _read_table(path)
    arrival = _parse_times(table, "arrival", tz, ambiguous, nonexistent)
    departure = _parse_times(table, "departure", tz, ambiguous, nonexistent)
    energy = _parse_numbers(table, "energy_kwh", allow_missing=False, minimum=0.0)
    n = len(table.frame)
    max_current = np.full(n, np.nan)
    if "max_current_a" in table.frame.columns:
        max_current = _parse_numbers(table, "max_current_a", allow_missing=True, minimum=1.0)
    phases = np.full(n, np.nan)
    if "phases" in table.frame.columns:
        phases = _parse_numbers(table, "phases", allow_missing=True)
        bad = ~np.isnan(phases) & ~np.isin(phases, [1, 2, 3])
        _refuse_first(
            table, "phases", bad, lambda p: f"phases must be 1, 2 or 3, got {phases[p]:g}"
        )
    _refuse_first(
        table,
        "departure",
        (departure <= arrival).to_numpy(),
        lambda p: f"departure {departure.iloc[p]} is not after arrival {arrival.iloc[p]} (UTC)",
    )
    frame = pd.DataFrame(
        {
            "arrival": arrival.to_numpy(),
            "departure": departure.to_numpy(),
            "energy_kwh": energy,
            "max_current_a": max_current,
            "phases": pd.array(phases, dtype="Int64"),
            "_row": [table.row(p) for p in range(n)],
        }
    )
    frame = frame.sort_values("arrival", kind="stable").reset_index(drop=True)
    overlap = frame["arrival"].iloc[1:].to_numpy() < frame["departure"].iloc[:-1].to_numpy()
    if overlap.any():
        p = int(np.flatnonzero(overlap)[0])
        raise InputError(
            f"session overlaps the one at row {frame['_row'].iloc[p]} (one charger, one car)",
            file=table.file,
            row=int(frame["_row"].iloc[p + 1]),
            column="arrival",
        )
    frame = frame.drop(columns="_row")
    frame.attrs["source"] = table.file
    return frame


# --------------------------------------------------------------------------- resampling


@dataclass(frozen=True)
class Gap:
    """A stretch without data on the simulation grid: [start, end), UTC."""

    start: pd.Timestamp
    end: pd.Timestamp
    filled: bool

    @property
    def duration(self) -> pd.Timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class GapReport:
    """The gaps found while resampling one series, longest first in `__str__`."""

    name: str
    step: pd.Timedelta
    gaps: tuple[Gap, ...]

    @property
    def missing(self) -> pd.Timedelta:
        """Total time without data (filled or not)."""
        return sum((g.duration for g in self.gaps), pd.Timedelta(0))

    @property
    def unfilled(self) -> tuple[Gap, ...]:
        """Gaps left as NaN."""
        return tuple(g for g in self.gaps if not g.filled)

    def __str__(self) -> str:
        if not self.gaps:
            return f"{self.name}: no gaps"
        longest = max(self.gaps, key=lambda g: g.duration)
        return (
            f"{self.name}: {len(self.gaps)} gaps, {self.missing} missing, "
            f"{len(self.unfilled)} left unfilled; longest {longest.duration} "
            f"from {longest.start}"
        )


def resample_to_step(
    series: pd.Series,
    step_s: float,
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    on_long_gap: LongGap = "raise",
) -> tuple[pd.Series, GapReport]:
    """Average a loaded series onto a UTC grid of `step_s` seconds and report its gaps.

    Samples are interval means labelled by their start; the native interval is the
    median spacing of the samples. Finer data is averaged per step; coarser data is held
    over its own interval (an hourly price applies to each minute of its hour). A step
    with no sample is missing; a run of missing steps is a `Gap`. Gaps up to `max_gap_s`
    are filled (linear in time inside the data, nearest value at the edges); longer ones
    raise `InputError` (`on_long_gap="raise"`, the default), stay NaN (`"nan"`) or are
    filled like short ones (`"interpolate"`). `start`/`end` extend or cut the grid to the
    simulated window [start, end).
    """
    if step_s <= 0:
        raise ValueError(f"step_s must be positive, got {step_s}")
    name = str(series.name)
    source = str(series.attrs.get("source", name))
    step = pd.Timedelta(seconds=step_s)
    values = series.astype("float64").dropna().sort_index()
    if values.empty:
        raise InputError("no data to resample", file=source, column=name)
    if values.index.tz is None:
        raise ValueError(f"{name} needs a tz-aware index")
    values.index = values.index.tz_convert("UTC")
    native = values.index.to_series().diff().median() if len(values) > 1 else step
    hold = max(round(native / step) - 1, 0)
    grid = values.resample(step, origin="epoch").mean()
    if hold:
        grid = grid.ffill(limit=hold)
    if start is not None or end is not None:
        first = (
            pd.Timestamp(start).tz_convert("UTC").floor(step)
            if start is not None
            else grid.index[0]
        )
        last = pd.Timestamp(end).tz_convert("UTC") if end is not None else grid.index[-1] + step
        grid = grid.reindex(pd.date_range(first, last - step, freq=step))
    return _fill_gaps(grid, step, max_gap_s, on_long_gap, name, source)


def _fill_gaps(
    grid: pd.Series,
    step: pd.Timedelta,
    max_gap_s: float,
    on_long_gap: LongGap,
    name: str,
    source: str,
) -> tuple[pd.Series, GapReport]:
    missing = grid.isna().to_numpy()
    edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    limit = pd.Timedelta(seconds=max_gap_s)
    smooth = grid.interpolate(method="time", limit_area="inside").ffill().bfill()
    fill = np.zeros(len(grid), dtype=bool)
    gaps: list[Gap] = []
    for lo, hi in zip(starts, stops, strict=True):
        gap_start = grid.index[lo]
        gap_end = grid.index[lo] + (hi - lo) * step
        short = gap_end - gap_start <= limit
        if not short and on_long_gap == "raise":
            raise InputError(
                f"gap of {gap_end - gap_start} from {gap_start} to {gap_end} (UTC) is longer "
                f"than the {limit} that may be filled; pass on_long_gap='nan' or "
                "'interpolate', or raise max_gap_s",
                file=source,
                column=name,
            )
        filled = short or on_long_gap == "interpolate"
        fill[lo:hi] = filled
        gaps.append(Gap(gap_start, gap_end, filled))
    result = grid.where(~fill, smooth).rename(name)
    result.index.name = "timestamp"
    return result, GapReport(name=name, step=step, gaps=tuple(gaps))

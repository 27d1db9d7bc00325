"""Archived weather forecasts: Open-Meteo answers with their issue times, for backtests.

`v2c-solar backtest --forecast file:PATH` replays them. PATH is either

* a JSON Lines file: one object per line, or
* a directory: every `*.json` file in it, one object each.

Each object is an answer as Open-Meteo's `/v1/forecast` returns it (`utc_offset_seconds`,
and an `hourly` or `minutely_15` block with `time` and `global_tilted_irradiance` or
`shortwave_radiation`, optionally `temperature_2m`; other keys are ignored) plus one key
of ours, `issue_time`: when the forecast was issued, ISO 8601 with an offset
("2017-06-01T06:00:00Z"). The backtest shows a forecast only from its issue time on.

The answer becomes the site's PV power through `adapters.weather.open_meteo.answer_power`,
the same code the live provider uses, summed over the site's arrays. A tilted
irradiance is one plane, so it is read as the plane of a one-array site; a site with
several arrays needs `shortwave_radiation`. Every problem is an `ArchiveError`: one line
naming the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pydantic

from adapters.json_files import first_error
from adapters.weather.open_meteo import OpenMeteoAnswer, answer_power
from optimizer.forecast.weather import WeatherSeries
from optimizer.site import SiteConfig

ISSUE_KEY = "issue_time"


class ArchiveError(ValueError):
    """An archive that cannot be replayed; one line: `file:line: what`."""


def read_archive(path: str | Path, site: SiteConfig) -> list[WeatherSeries]:
    """Every forecast in `path` (see the module docstring), sorted by issue time.

    Raises `ArchiveError` for a missing path, bad JSON, a missing or naive issue
    time, two forecasts issued at the same time, or an answer without irradiance.
    """
    root = Path(path)
    forecasts: dict[float, tuple[str, WeatherSeries]] = {}
    for where, data in _objects(root):
        series = _series(data, where, site, str(root))
        if series.issued_s in forecasts:
            first = forecasts[series.issued_s][0]
            raise ArchiveError(f"{where}: {ISSUE_KEY} {data[ISSUE_KEY]} again (first at {first})")
        forecasts[series.issued_s] = (where, series)
    if not forecasts:
        raise ArchiveError(f"{root}: no forecasts")
    return [forecasts[k][1] for k in sorted(forecasts)]


def _objects(root: Path) -> Iterator[tuple[str, Any]]:
    """(`file:line` or `file`, parsed JSON) for every forecast under `root`."""
    if root.is_dir():
        for file in sorted(root.glob("*.json")):
            yield str(file), _json(_text(file), str(file))
        return
    for number, line in enumerate(_text(root).splitlines(), start=1):
        if line.strip():
            where = f"{root}:{number}"
            yield where, _json(line, where)


def _text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArchiveError(f"{file}: no such file or directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"{file}: cannot read ({exc})") from None


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArchiveError(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from None


def _series(data: Any, where: str, site: SiteConfig, source: str) -> WeatherSeries:
    if not isinstance(data, dict):
        raise ArchiveError(f"{where}: expected a JSON object (an Open-Meteo answer)")
    issued = _issue_time(data.get(ISSUE_KEY), where)
    try:
        answer = OpenMeteoAnswer.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ArchiveError(f"{where}: {first_error(exc)}") from None
    if len(site.arrays) > 1 and _tilted(answer):
        raise ArchiveError(
            f"{where}: global_tilted_irradiance is one plane and the site has "
            f"{len(site.arrays)} arrays; give shortwave_radiation"
        )
    try:
        parts = [answer_power(answer, array, site) for array in site.arrays]
    except ValueError as exc:
        raise ArchiveError(f"{where}: {exc}") from None
    times = parts[0][0]
    total = np.zeros_like(times)
    for t, w in parts:
        total += np.interp(times, t, w, left=np.nan, right=np.nan)
    return WeatherSeries(f"archive {source}", issued.timestamp(), times, total)


def _tilted(answer: OpenMeteoAnswer) -> bool:
    block = answer.minutely_15 or answer.hourly
    return block is not None and block.global_tilted_irradiance is not None


def _issue_time(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise ArchiveError(f"{where}: no '{ISSUE_KEY}' (when the forecast was issued, ISO 8601)")
    try:
        issued = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ArchiveError(f"{where}: {ISSUE_KEY} {value!r} is not ISO 8601") from None
    if issued.tzinfo is None:
        raise ArchiveError(f"{where}: {ISSUE_KEY} {value!r} has no UTC offset")
    return issued


__all__ = ["ISSUE_KEY", "ArchiveError", "read_archive"]

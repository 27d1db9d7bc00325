"""Price files (CSV): read, validated, as a `PriceSeries`; and the `CsvPrices` provider.

Columns (names matched case-insensitively; comma or semicolon separated):

* the interval start: `start`, `time_utc` or `timestamp`. ISO 8601 with an
  offset or `Z` is taken as given; a time without one is local wall-clock
  time in the file's zone. On the 25-hour day the repeated hour is read in
  file order (first summer time, then winter time); on the 23-hour day a
  time inside the skipped hour is refused.
* the import price: `import_eur_per_kwh`, `price_eur_per_kwh`,
  `price_per_kwh` (EUR/kWh) or `price_eur_per_mwh` (converted to EUR/kWh);
* optionally the export price: `export_eur_per_kwh`.

Prices may be negative; beyond `PLAUSIBLE_EUR_PER_KWH` a value is refused as
a unit error. Rows must be back to back at one interval (15, 30 or 60
minutes): a duplicate, a gap or a row out of order is refused. Every problem
is a `PriceFileError`: one line naming the file, the row (the header is row
1) and the column.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from optimizer.prices.port import PriceSource, PriceSourceError
from optimizer.prices.retail import eur_per_mwh_to_kwh
from optimizer.prices.series import SUPPORTED_INTERVALS, PriceSeries, describe_break

TIME_COLUMNS = ("start", "time_utc", "timestamp")
IMPORT_COLUMNS = ("import_eur_per_kwh", "price_eur_per_kwh", "price_per_kwh", "price_eur_per_mwh")
EXPORT_COLUMN = "export_eur_per_kwh"
PLAUSIBLE_EUR_PER_KWH = (-1.0, 10.0)
"""EPEX's harmonised limits are -0.5 and +4 EUR/kWh of spot (-500/+4000 EUR/MWh);
retail adds fees. Outside this range a value is a unit error (EUR/MWh as EUR/kWh)."""


class PriceFileError(ValueError):
    """A price file is unusable; one line naming file, row and column."""

    def __init__(
        self, message: str, *, file: str, row: int | None = None, column: str | None = None
    ):
        where = [file] + ([f"row {row}"] if row is not None else [])
        where += [f"column '{column}'"] if column is not None else []
        super().__init__(f"{', '.join(where)}: {message}")


def read_price_csv(path: str | Path, timezone: tzinfo = UTC) -> PriceSeries:
    """The whole file as a series (EUR/kWh); `timezone` is the zone of times without offset."""
    name = str(path)
    rows = list(_rows(Path(path), name))
    if len(rows) < 2:
        raise PriceFileError("needs at least two rows of prices", file=name)
    header = {key.strip().lower(): key for key in rows[0][1]}
    time_column = _pick(header, TIME_COLUMNS, name)
    price_column = _pick(header, IMPORT_COLUMNS, name)
    to_kwh = eur_per_mwh_to_kwh if price_column == "price_eur_per_mwh" else float
    has_export = EXPORT_COLUMN in header
    clock = _LocalClock(timezone)
    starts: list[datetime] = []
    imports: list[float] = []
    exports: list[float] = []
    for number, row in rows:
        starts.append(clock.utc(row[header[time_column]], name, number, time_column))
        imports.append(to_kwh(_number(row[header[price_column]], name, number, price_column)))
        _check_plausible(imports[-1], name, number, price_column)
        if has_export:
            exports.append(_number(row[header[EXPORT_COLUMN]], name, number, EXPORT_COLUMN))
            _check_plausible(exports[-1], name, number, EXPORT_COLUMN)
    interval = _check_spacing(starts, rows, name, time_column)
    return PriceSeries.from_slots(
        starts, imports, exports if has_export else None, interval=interval, source=f"file {name}"
    )


def _rows(path: Path, name: str) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PriceFileError("file not found", file=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceFileError(f"cannot read: {exc}", file=name) from None
    lines = text.splitlines()
    if not lines:
        raise PriceFileError("empty file", file=name)
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.DictReader(lines, delimiter=delimiter)
    for row in reader:
        if not any((v or "").strip() for v in row.values()):
            continue
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k is not None}


def _pick(header: dict[str, str], names: tuple[str, ...], file: str) -> str:
    for name in names:
        if name in header:
            return name
    raise PriceFileError(f"no column named {' or '.join(names)}", file=file, row=1)


def _number(cell: str, file: str, row: int, column: str) -> float:
    if not cell:
        raise PriceFileError("missing price", file=file, row=row, column=column)
    try:
        decimal_comma = cell.count(",") == 1 and "." not in cell
        value = float(cell.replace(",", ".") if decimal_comma else cell)
    except ValueError:
        raise PriceFileError(f"not a number: {cell!r}", file=file, row=row, column=column) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise PriceFileError(f"not a finite number: {cell!r}", file=file, row=row, column=column)
    return value


def _check_plausible(value: float, file: str, row: int, column: str) -> None:
    low, high = PLAUSIBLE_EUR_PER_KWH
    if not low <= value <= high:
        raise PriceFileError(
            f"{value:g} EUR/kWh is outside {low:g}..{high:g}: EUR/MWh in a EUR/kWh column?",
            file=file,
            row=row,
            column=column,
        )


def _check_spacing(
    starts: list[datetime], rows: list[tuple[int, dict[str, str]]], file: str, column: str
) -> timedelta:
    interval = starts[1] - starts[0]
    if interval not in SUPPORTED_INTERVALS:
        raise PriceFileError(
            f"{describe_break(starts[0], starts[1], timedelta(hours=1))}"
            if interval <= timedelta(0)
            else f"rows are {interval} apart; expected 15 min, 30 min or 1 h",
            file=file,
            row=rows[1][0],
            column=column,
        )
    for i in range(1, len(starts)):
        if starts[i] != starts[i - 1] + interval:
            raise PriceFileError(
                describe_break(starts[i - 1], starts[i], interval),
                file=file,
                row=rows[i][0],
                column=column,
            )
    return interval


class _LocalClock:
    """Times of a file in UTC; local times resolved at the clock changes by file order."""

    def __init__(self, timezone: tzinfo) -> None:
        self.timezone = timezone
        self.seen_ambiguous: set[datetime] = set()

    def utc(self, cell: str, file: str, row: int, column: str) -> datetime:
        try:
            parsed = datetime.fromisoformat(cell.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            raise PriceFileError(
                f"not an ISO 8601 time: {cell!r}", file=file, row=row, column=column
            ) from None
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
        first = parsed.replace(tzinfo=self.timezone, fold=0)
        second = parsed.replace(tzinfo=self.timezone, fold=1)
        if first.utcoffset() == second.utcoffset():
            return first.astimezone(UTC)
        if first.astimezone(UTC).astimezone(self.timezone).replace(tzinfo=None) != parsed:
            raise PriceFileError(
                f"{cell} does not exist in {self.timezone} (the clocks skip that hour)",
                file=file,
                row=row,
                column=column,
            )
        fold = 1 if parsed in self.seen_ambiguous else 0
        self.seen_ambiguous.add(parsed)
        return parsed.replace(tzinfo=self.timezone, fold=fold).astimezone(UTC)


class CsvPrices(PriceSource):
    """Prices from a CSV file (read again on every call: the file may be updated)."""

    def __init__(self, path: str | Path, timezone: tzinfo = UTC) -> None:
        self.path = Path(path)
        self.timezone = timezone

    @property
    def name(self) -> str:
        return f"csv-{self.path.stem}"

    def prices(self, start: datetime, end: datetime) -> PriceSeries:
        try:
            return read_price_csv(self.path, self.timezone).window(start, end)
        except PriceFileError as exc:
            raise PriceSourceError("csv", str(exc), retryable=False) from None

"""`[prices]`: which provider sets the prices, its options, the retail formula, the export price.

    [prices]
    provider = "awattar"        # one of PROVIDERS
    export = 0.08               # EUR/kWh, or "provider" (e.g. PVPC's surplus price), or "spot"
    [prices.awattar]            # the chosen provider's options (its own sub-table)
    country = "at"
    [prices.retail]             # (spot * (1 + markup) + fees) * (1 + vat)
    markup = 0.03
    fees_eur_per_kwh = 0.15
    vat = 0.20

Tokens never go in the file: ESIOS from `ESIOS_API_TOKEN`, ENTSO-E from
`ENTSOE_API_KEY`, Tibber from `TIBBER_TOKEN`, a JSON URL's header from the
variable its `header_env` names.
"""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from optimizer.prices.calendar import HolidayCalendar
from optimizer.prices.retail import RetailFormula
from optimizer.prices.tariffs import parse_hhmm

ProviderName = Literal[
    "flat",
    "day_night",
    "spain_20td",
    "pvpc",
    "entsoe",
    "awattar",
    "tibber",
    "nordpool",
    "csv",
    "json_url",
]
PROVIDERS: tuple[str, ...] = ProviderName.__args__  # type: ignore[attr-defined]
DEFAULT_CACHE_DIR = "~/.cache/v2c-solar/prices"
EIC = re.compile(r"^[0-9A-Z]{2}[0-9A-Z-]{14}$")
Price = Field(ge=-1.0, le=10.0, description="EUR/kWh")


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FlatOptions(_Options):
    """`[prices.flat]`: one price all the time."""

    price_eur_per_kwh: float = Price


class DayNightOptions(_Options):
    """`[prices.day_night]`: a night window every day (local "HH:MM"), optionally weekends too."""

    day_eur_per_kwh: float = Price
    night_eur_per_kwh: float = Price
    night_start: str = "22:00"
    night_end: str = "06:00"
    weekends_and_holidays_at_night_price: bool = False
    holidays_country: str | None = Field(default=None, description="ISO code, e.g. 'AT'")

    @field_validator("night_start", "night_end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        parse_hhmm(value)
        return value

    @field_validator("holidays_country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        HolidayCalendar(value)
        return value


class Spain20tdOptions(_Options):
    """`[prices.spain_20td]`: the energy price of each 2.0TD period (EUR/kWh)."""

    p1_eur_per_kwh: float = Price
    p2_eur_per_kwh: float = Price
    p3_eur_per_kwh: float = Price


class PvpcOptions(_Options):
    """`[prices.pvpc]`: the PVPC zone (token from ESIOS_API_TOKEN)."""

    zone: Literal["peninsula", "canarias", "baleares", "ceuta", "melilla"] = "peninsula"


class EntsoeOptions(_Options):
    """`[prices.entsoe]`: the bidding zone's EIC code (token from ENTSOE_API_KEY)."""

    zone: str = Field(description="EIC code, e.g. 10Y1001A1001A82H for DE-LU")

    @field_validator("zone")
    @classmethod
    def _eic(cls, value: str) -> str:
        if not EIC.match(value):
            raise ValueError("must be a 16-character EIC code, e.g. 10Y1001A1001A82H")
        return value


class AwattarOptions(_Options):
    """`[prices.awattar]`: which aWATTar market."""

    country: Literal["at", "de"] = "at"


class TibberOptions(_Options):
    """`[prices.tibber]`: which of the account's homes (token from TIBBER_TOKEN)."""

    home: int = Field(default=0, ge=0)


class NordpoolOptions(_Options):
    """`[prices.nordpool]`: the delivery area."""

    area: str = Field(min_length=2, max_length=8, description='e.g. "SE3", "NO1", "FI"')


class CsvOptions(_Options):
    """`[prices.csv]`: a price file (see adapters/prices/csv_file.py for its columns)."""

    path: str = Field(min_length=1)
    timezone: str | None = Field(default=None, description="zone of times without offset; site's")


class JsonUrlOptions(_Options):
    """`[prices.json_url]`: a JSON feed and where its prices are."""

    url: str = Field(pattern=r"^https?://")
    items: str = "data"
    start_key: str = "start"
    price_key: str = "price"
    unit: Literal["EUR/kWh", "EUR/MWh", "ct/kWh"] = "EUR/kWh"
    header_name: str | None = None
    header_env: str | None = Field(default=None, description="environment variable of the header")


class PricesConfig(BaseModel):
    """`[prices]`: the provider, its options, the retail formula and the export price."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: ProviderName
    cache_dir: str = DEFAULT_CACHE_DIR
    retail: RetailFormula = Field(default_factory=RetailFormula)
    export: float | Literal["provider", "spot"] | None = Field(
        default=None, description='EUR/kWh, "provider" or "spot"'
    )
    flat: FlatOptions | None = None
    day_night: DayNightOptions | None = None
    spain_20td: Spain20tdOptions | None = None
    pvpc: PvpcOptions = Field(default_factory=PvpcOptions)
    entsoe: EntsoeOptions | None = None
    awattar: AwattarOptions = Field(default_factory=AwattarOptions)
    tibber: TibberOptions = Field(default_factory=TibberOptions)
    nordpool: NordpoolOptions | None = None
    csv: CsvOptions | None = None
    json_url: JsonUrlOptions | None = None

    def options(self) -> BaseModel | None:
        """The chosen provider's options (its `[prices.<provider>]` table)."""
        chosen: BaseModel | None = getattr(self, self.provider)
        return chosen

    @model_validator(mode="after")
    def _provider_options_given(self) -> Self:
        if self.options() is None:
            raise ValueError(
                f"provider {self.provider!r} needs its options in [prices.{self.provider}]"
            )
        if isinstance(self.export, float) and not -1.0 <= self.export <= 10.0:
            raise ValueError(f"export: must be between -1 and 10 EUR/kWh (got {self.export})")
        return self

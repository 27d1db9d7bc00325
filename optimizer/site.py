"""Where the panels are and how they are built: the site and its PV arrays.

Shared by the forecaster, the simulator's world model and the data loaders,
so a site is described once. Validated with pydantic: a tilt of 120 degrees
or a latitude of 95 is a one-line error naming the field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

SITE_NAME_PATTERN = r"^[a-z0-9_-]{1,32}$"
"""A site's name (`[site] name`): like an account's, fit for a URL's query."""

INVERTER_EFFICIENCY = 0.96
"""Nominal inverter efficiency of the PVWatts inverter model (`optimizer.pvmodel`); here,
beside the arrays, so the forecaster's AC limit needs no pvlib import."""


class ArrayConfig(BaseModel):
    """One PV array: a plane of modules behind one inverter (or one MPPT share of it).

    Azimuth follows pvlib: degrees east of north, 180 is due south.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kwp: float = Field(gt=0, le=1000, description="DC nameplate power (kWp)")
    tilt_deg: float = Field(ge=0, le=90, description="Tilt from horizontal (degrees)")
    azimuth_deg: float = Field(ge=0, lt=360, description="Degrees east of north, 180 = south")
    losses_pct: float = Field(
        default=14.0, ge=0, lt=100, description="System losses before the inverter (%)"
    )
    inverter_ac_w: float | None = Field(
        default=None, gt=0, description="Inverter AC limit (W); None means no clipping"
    )
    gamma_pdc: float = Field(
        default=-0.0037, ge=-0.02, le=0, description="DC power temperature coefficient (1/K)"
    )

    @property
    def pdc0_w(self) -> float:
        """DC nameplate power (W)."""
        return self.kwp * 1000.0


class SiteConfig(BaseModel):
    """The home: location, time zone, its PV arrays, and whether its battery may feed the car."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(
        default=None,
        pattern=SITE_NAME_PATTERN,
        description="The home's name in a fleet's web selector (`?site=NAME`); "
        "None: `site1`, `site2`... by its place in the account",
    )
    latitude: float = Field(ge=-90, le=90, description="Degrees north")
    longitude: float = Field(ge=-180, le=180, description="Degrees east")
    altitude_m: float = Field(default=0.0, ge=-500, le=9000, description="Metres above sea")
    timezone: str = Field(default="UTC", description="IANA zone, e.g. Europe/Vienna")
    arrays: tuple[ArrayConfig, ...] = Field(min_length=1)
    battery_to_car: bool = Field(
        default=False,
        description="A home battery may feed the car: its discharge counts as surplus "
        "(see optimizer.cycle.estimate); off: the car never gets what the battery pays for",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def kwp(self) -> float:
        """Total DC nameplate power of all arrays (kWp)."""
        return sum(a.kwp for a in self.arrays)

    @property
    def tz(self) -> ZoneInfo:
        """The site's time zone object."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class SiteOverrides:
    """Values that replace a site's (None keeps one): what the commands' --lat, --lon,
    --tz, --kwp, --tilt and --azimuth options say. `kwp`, `tilt_deg` and `azimuth_deg`
    (kWp, degrees) apply to the first array."""

    latitude: float | None = None
    longitude: float | None = None
    timezone: str | None = None
    kwp: float | None = None
    tilt_deg: float | None = None
    azimuth_deg: float | None = None

    @property
    def touch_array(self) -> bool:
        """Whether any array value is replaced."""
        return (self.kwp, self.tilt_deg, self.azimuth_deg) != (None, None, None)

    def apply(self, site: SiteConfig) -> SiteConfig:
        """`site` with these values, validated again (`pydantic.ValidationError`)."""
        values = {k: v for k, v in asdict(self).items() if v is not None}
        data = site.model_dump() | {k: values[k] for k in _SITE_KEYS if k in values}
        first = site.arrays[0].model_dump() | {k: values[k] for k in _ARRAY_KEYS if k in values}
        data["arrays"] = [first, *data["arrays"][1:]]
        return SiteConfig.model_validate(data)


_SITE_KEYS = ("latitude", "longitude", "timezone")
_ARRAY_KEYS = ("kwp", "tilt_deg", "azimuth_deg")


GRAZ = SiteConfig(
    latitude=47.05,
    longitude=15.44,
    altitude_m=360.0,
    timezone="Europe/Vienna",
    arrays=(ArrayConfig(kwp=8.0, tilt_deg=30.0, azimuth_deg=180.0, inverter_ac_w=7000.0),),
)
"""An 8 kWp south-facing 30 degree array at the Graz site of the sunpeek 2017 data set.

The measured irradiance there (`rd_gti`) is on exactly this plane, which is why
the default demo and the real-data backtests use it.
"""

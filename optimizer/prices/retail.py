"""`RetailFormula`: what a household pays for a day-ahead spot price.

Dynamic retail tariffs (aWATTar, Tibber, Octopus Agile, ...) bill roughly
`(spot * (1 + markup) + fees) * (1 + vat)`: the supplier's markup on the
spot price, fixed fees and levies per kWh (grid charges, taxes, the
supplier's margin), then VAT. All in EUR/kWh; market answers in EUR/MWh are
converted at the adapter boundary (`eur_per_mwh_to_kwh`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from optimizer.prices.series import PriceSeries

KWH_PER_MWH = 1000.0


def eur_per_mwh_to_kwh(value: float) -> float:
    """EUR/MWh (how markets quote) -> EUR/kWh (how everything inside counts)."""
    return value / KWH_PER_MWH


class RetailFormula(BaseModel):
    """`(spot * (1 + markup) + fees_eur_per_kwh) * (1 + vat)`, EUR/kWh.

    The default is the identity: the source already gives what the household pays.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    markup: float = Field(default=0.0, ge=0.0, le=1.0, description="fraction of spot, 0.03 = 3 %")
    fees_eur_per_kwh: float = Field(default=0.0, ge=0.0, le=2.0)
    vat: float = Field(default=0.0, ge=0.0, le=0.5, description="fraction, 0.20 = 20 %")

    @property
    def is_identity(self) -> bool:
        """True when the formula leaves prices as they are."""
        return self.markup == 0.0 and self.fees_eur_per_kwh == 0.0 and self.vat == 0.0

    def price(self, spot_eur_per_kwh: float) -> float:
        """Retail price (EUR/kWh) for one spot price (EUR/kWh)."""
        return (spot_eur_per_kwh * (1.0 + self.markup) + self.fees_eur_per_kwh) * (1.0 + self.vat)

    def describe(self) -> str:
        """The formula with its numbers, for tables and data set notes."""
        return (
            f"(spot x {1.0 + self.markup:g} + {self.fees_eur_per_kwh:g} EUR/kWh)"
            f" x {1.0 + self.vat:g}"
        )

    def apply(self, series: PriceSeries) -> PriceSeries:
        """`series` with retail import prices (export prices are left as they are)."""
        if self.is_identity:
            return series
        return series.map_imports(self.price, f"{series.source}; retail {self.describe()}")

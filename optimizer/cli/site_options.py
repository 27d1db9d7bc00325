"""The options that override the site of a config or a dataset, declared once.

`forecast evaluate` and `backtest` take the same six under the same names and pass
them on as a `SiteOverrides` (None: keep the site's value).
"""

from __future__ import annotations

from typing import Annotated

import typer

LatOption = Annotated[float | None, typer.Option(help="Latitude (deg north)")]
LonOption = Annotated[float | None, typer.Option(help="Longitude (deg east)")]
TzOption = Annotated[str | None, typer.Option(help="IANA zone; also the zone of naive timestamps")]
KwpOption = Annotated[float | None, typer.Option(help="Array size (kWp)")]
TiltOption = Annotated[float | None, typer.Option(help="Array tilt (deg)")]
AzimuthOption = Annotated[float | None, typer.Option(help="Array azimuth (deg, 180 = south)")]

"""adapters/prices: every provider on recorded answers in its real format (no network),
429 and garbage as one-line typed errors, price files with bad rows, the disk cache,
the registry and `v2c-solar prices show`."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from typer.testing import CliRunner

from adapters.prices.awattar import Awattar
from adapters.prices.cache import DiskPriceCache
from adapters.prices.csv_file import CsvPrices, PriceFileError, read_price_csv
from adapters.prices.entsoe import EntsoeDayAhead
from adapters.prices.esios import EsiosPvpc
from adapters.prices.json_url import JsonUrlPrices
from adapters.prices.nordpool import NordPool
from adapters.prices.registry import build_price_source
from adapters.prices.tibber import Tibber
from optimizer.cli.main import app
from optimizer.prices import PriceSourceError
from optimizer.prices.config import PricesConfig
from optimizer.prices.feed import PriceFeed
from optimizer.prices.port import PriceSource
from optimizer.prices.tariffs import local_day_bounds
from tests.conftest import FakeClock
from tests.test_cli_imports import CONFIG

FIXTURES = Path(__file__).parent / "data" / "prices"
MADRID = ZoneInfo("Europe/Madrid")
VIENNA = ZoneInfo("Europe/Vienna")
BERLIN = ZoneInfo("Europe/Berlin")
TOKEN = "s3cret-token-value"

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler: answers with `answer(request)` and keeps the requests."""

    def __init__(self, answer: Handler) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def serve(name: str, status: int = 200) -> Recorder:
    return Recorder(lambda _: httpx.Response(status, content=fixture(name)))


def day(d: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return local_day_bounds(d, tz)


# --------------------------------------------------------------------------- ESIOS / PVPC


def test_pvpc_reads_both_indicators_of_a_25_hour_day() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        indicator = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, content=fixture(f"esios_{indicator}_2021-10-31.json"))

    recorder = Recorder(answer)
    source = EsiosPvpc(TOKEN, "peninsula", transport=recorder.transport)
    series = source.prices(*day(date(2021, 10, 31), MADRID))
    assert len(series) == 25 and series.interval == timedelta(hours=1)
    first = json.loads(fixture("esios_1001_2021-10-31.json"))["indicator"]["values"][0]
    assert first["geo_id"] == 8741
    assert series.imports[0] == pytest.approx(first["value"] / 1000)
    assert series.exports is not None and len(series.exports) == 25
    assert [r.url.path for r in recorder.requests] == ["/indicators/1001", "/indicators/1739"]
    assert recorder.requests[0].headers["x-api-key"] == TOKEN
    assert recorder.requests[0].url.params["start_date"] == "2021-10-31T00:00"
    canarias = EsiosPvpc(TOKEN, "canarias", transport=Recorder(answer).transport)
    assert canarias.prices(*day(date(2021, 10, 31), MADRID)).imports[0] == pytest.approx(
        first["value"] / 1000 + 0.005
    )


def test_pvpc_publishes_tomorrow_in_the_madrid_evening() -> None:
    source = EsiosPvpc(TOKEN, transport=serve("esios_1001_2021-10-31.json").transport)
    assert source.publishes_at(date(2024, 6, 2)) == datetime(2024, 6, 1, 18, 30, tzinfo=UTC)


# --------------------------------------------------------------------------- ENTSO-E


def test_entsoe_takes_the_finest_resolution() -> None:
    recorder = serve("entsoe_a44_de_lu_2025-06-01.xml")
    source = EntsoeDayAhead(TOKEN, "10Y1001A1001A82H", transport=recorder.transport)
    series = source.prices(*day(date(2025, 6, 1), BERLIN))
    assert len(series) == 96 and series.interval == timedelta(minutes=15)
    assert min(series.imports) < 0  # the midday dip
    params = recorder.requests[0].url.params
    assert (params["documentType"], params["periodStart"], params["periodEnd"]) == (
        "A44",
        "202505312200",
        "202506012200",
    )


def test_entsoe_curve_a03_repeats_a_left_out_point() -> None:
    source = EntsoeDayAhead(
        TOKEN,
        "10Y1001A1001A82H",
        transport=serve("entsoe_a44_de_lu_2025-06-01_hourly.xml").transport,
    )
    series = source.prices(*day(date(2025, 6, 1), BERLIN))
    assert len(series) == 24
    assert series.imports[3] == series.imports[4] == series.imports[2]  # positions 4, 5 left out
    assert series.imports[5] != series.imports[2]


def test_entsoe_no_data_is_an_empty_series() -> None:
    source = EntsoeDayAhead(
        TOKEN, "10Y1001A1001A82H", transport=serve("entsoe_ack_no_data.xml").transport
    )
    assert len(source.prices(*day(date(2025, 6, 3), BERLIN))) == 0


# ------------------------------------------------------------- aWATTar, Tibber, Nord Pool, JSON


def test_awattar_converts_eur_per_mwh() -> None:
    recorder = serve("awattar_at_2024-06-01.json")
    start, end = day(date(2024, 6, 1), VIENNA)
    series = Awattar("at", transport=recorder.transport).prices(start, end)
    data = json.loads(fixture("awattar_at_2024-06-01.json"))["data"]
    assert len(series) == 24
    assert series.imports == pytest.approx([d["marketprice"] / 1000 for d in data])
    assert min(series.imports) < 0
    assert recorder.requests[0].url.host == "api.awattar.at"
    assert recorder.requests[0].url.params["start"] == str(int(start.timestamp() * 1000))


def test_tibber_reads_today_and_tomorrow_totals() -> None:
    recorder = serve("tibber_2024-06-01.json")
    source = Tibber(TOKEN, transport=recorder.transport)
    series = source.prices(day(date(2024, 6, 1), BERLIN)[0], day(date(2024, 6, 2), BERLIN)[1])
    assert len(series) == 48
    first = json.loads(fixture("tibber_2024-06-01.json"))["data"]["viewer"]["homes"][0]
    assert series.imports[0] == first["currentSubscription"]["priceInfo"]["today"][0]["total"]
    assert recorder.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert "priceInfo" in json.loads(recorder.requests[0].content)["query"]
    empty = Tibber(TOKEN, transport=serve("tibber_2024-06-01_no_tomorrow.json").transport)
    assert len(empty.prices(*day(date(2024, 6, 2), BERLIN))) == 0


def test_nordpool_reads_its_area_in_quarter_hours() -> None:
    recorder = serve("nordpool_se3_2025-10-02.json")
    stockholm = ZoneInfo("Europe/Stockholm")
    series = NordPool("SE3", transport=recorder.transport).prices(
        *day(date(2025, 10, 2), stockholm)
    )
    assert len(series) == 96 and series.interval == timedelta(minutes=15)
    entries = json.loads(fixture("nordpool_se3_2025-10-02.json"))["multiAreaEntries"]
    assert series.imports[0] == pytest.approx(entries[0]["entryPerArea"]["SE3"] / 1000)
    params = recorder.requests[0].url.params
    assert (params["date"], params["deliveryArea"], params["currency"]) == (
        "2025-10-02",
        "SE3",
        "EUR",
    )


def test_nordpool_not_published_yet_is_empty() -> None:
    source = NordPool("SE3", transport=Recorder(lambda _: httpx.Response(204)).transport)
    assert len(source.prices(*day(date(2025, 10, 3), ZoneInfo("Europe/Stockholm")))) == 0


def test_a_generic_json_url_with_a_path_and_units() -> None:
    source = JsonUrlPrices(
        "https://home.example/prices",
        items="result.prices",
        start_key="from",
        price_key="ct_per_kwh",
        unit="ct/kWh",
        transport=serve("json_url_2024-06-01.json").transport,
    )
    series = source.prices(*day(date(2024, 6, 1), VIENNA))
    assert len(series) == 24 and series.imports[0] == pytest.approx(0.30)


# --------------------------------------------------------------------------- failures


def _providers(transport: httpx.BaseTransport) -> list[PriceSource]:
    return [
        EsiosPvpc(TOKEN, transport=transport),
        EntsoeDayAhead(TOKEN, "10Y1001A1001A82H", transport=transport),
        Awattar("de", transport=transport),
        Tibber(TOKEN, transport=transport),
        NordPool("SE3", transport=transport),
        JsonUrlPrices("https://home.example/p", transport=transport),
    ]


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (
            httpx.Response(429, headers={"Retry-After": "60"}),
            "rate limited by .* \\(HTTP 429, retry after 60 s\\)$",
        ),
        (httpx.Response(503), "answered HTTP 503$"),
        (httpx.Response(401), "refused the credentials \\(HTTP 401\\); check the token$"),
        (
            httpx.Response(200, content=b"<html>Service down</html>"),
            "(not JSON: |not XML: |a 'html', not a Publication_MarketDocument)",
        ),
        (
            httpx.Response(200, json={"unexpected": True}),
            "(unexpected answer|not a Publication|not XML|no 'data')",
        ),
    ],
)
def test_every_provider_fails_in_one_line_naming_itself(
    response: httpx.Response, reason: str
) -> None:
    for source in _providers(httpx.MockTransport(lambda _, r=response: r)):
        with pytest.raises(PriceSourceError, match=f"^{source.name}: (.* )?" + reason) as caught:
            source.prices(datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 2, tzinfo=UTC))
        assert "\n" not in str(caught.value) and TOKEN not in str(caught.value)


def test_an_unreachable_provider_is_one_line_without_the_token() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    source = EntsoeDayAhead(TOKEN, "10Y1001A1001A82H", transport=httpx.MockTransport(refuse))
    with pytest.raises(PriceSourceError) as caught:
        source.prices(datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 2, tzinfo=UTC))
    assert str(caught.value) == "entsoe: cannot reach web-api.tp.entsoe.eu: ConnectError"


def test_tibber_graphql_errors_and_entsoe_refusals_are_named() -> None:
    tibber = Tibber(
        TOKEN,
        transport=Recorder(
            lambda _: httpx.Response(200, json={"errors": [{"message": "Context creation failed"}]})
        ).transport,
    )
    with pytest.raises(PriceSourceError, match=r"^tibber: GraphQL error: Context creation failed$"):
        tibber.prices(datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 2, tzinfo=UTC))
    ack = fixture("entsoe_ack_no_data.xml").replace(b"No matching data found", b"Invalid domain")
    entsoe = EntsoeDayAhead(
        TOKEN,
        "10Y1001A1001A82H",
        transport=Recorder(lambda _: httpx.Response(200, content=ack)).transport,
    )
    with pytest.raises(PriceSourceError, match=r"^entsoe: refused the request: Invalid domain"):
        entsoe.prices(datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 2, tzinfo=UTC))


def test_a_provider_outage_through_the_feed_keeps_the_cached_day(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = {"fail": False}

    def answer(_: httpx.Request) -> httpx.Response:
        if state["fail"]:
            return httpx.Response(429)
        return httpx.Response(200, content=fixture("awattar_at_2024-06-01.json"))

    caplog.set_level(logging.WARNING, "optimizer.prices.feed")
    clock = FakeClock(datetime(2024, 6, 1, 6, tzinfo=UTC))
    cache = DiskPriceCache(tmp_path)
    feed = PriceFeed(Awattar("at", transport=Recorder(answer).transport), clock, VIENNA, cache)
    start, end = day(date(2024, 6, 1), VIENNA)
    assert len(feed.prices(start, end)) == 24
    assert (tmp_path / "awattar-at" / "2024-06-01.json").is_file()
    state["fail"] = True
    restarted = PriceFeed(Awattar("at", transport=Recorder(answer).transport), clock, VIENNA, cache)
    assert len(restarted.prices(start, end)) == 24  # from the disk, the provider not asked
    clock.t = datetime(2024, 6, 1, 13, tzinfo=UTC)
    for _ in range(4):
        clock.t += timedelta(minutes=20)
        assert len(restarted.prices(start, day(date(2024, 6, 2), VIENNA)[1])) == 24
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "prices: awattar-at: rate limited by api.awattar.at (HTTP 429); keeping the last known "
        "prices, asking again every 15 min"
    ]


def test_an_unreadable_cache_file_is_fetched_again(tmp_path: Path) -> None:
    cache = DiskPriceCache(tmp_path)
    path = cache.path("awattar-at", date(2024, 6, 1))
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert cache.load("awattar-at", date(2024, 6, 1)) is None


# --------------------------------------------------------------------------- price files


def write(tmp_path: Path, text: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_price_file_in_eur_per_mwh_with_negative_prices(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "time_utc,price_eur_per_mwh\n2017-12-31T22:00:00Z,-0.92\n2017-12-31T23:00:00Z,-5.27\n",
    )
    series = read_price_csv(path)
    assert series.imports == pytest.approx((-0.00092, -0.00527))
    assert series.source == f"file {path}"


def test_local_times_on_the_25_hour_day_are_read_in_file_order(tmp_path: Path) -> None:
    rows = [f"2024-10-27 {h:02d}:00,0.{h + 10}" for h in range(3)]
    rows.insert(3, "2024-10-27 02:00,0.2")  # the repeated hour, winter time
    rows += [f"2024-10-27 {h:02d}:00,0.{h + 10}" for h in range(3, 24)]
    series = read_price_csv(write(tmp_path, "start,import_eur_per_kwh\n" + "\n".join(rows)), VIENNA)
    assert len(series) == 25
    assert series.starts[2] + timedelta(hours=1) == series.starts[3]


def test_local_times_on_the_23_hour_day_have_no_gap(tmp_path: Path) -> None:
    rows = [f"2024-03-31 {h:02d}:00;0,{h + 10}" for h in range(24) if h != 2]
    series = read_price_csv(write(tmp_path, "start;price_per_kwh\n" + "\n".join(rows)), VIENNA)
    assert len(series) == 23 and series.imports[0] == pytest.approx(0.10)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "2024-06-01T00:00Z,0.1\n2024-06-01T01:00Z,0.1\n2024-06-01T01:00Z,0.2\n",
            "row 4, column 'start': 2024-06-01T01:00:00+00:00 appears twice (duplicate interval)",
        ),
        (
            "2024-06-01T00:00Z,0.1\n2024-06-01T01:00Z,0.1\n2024-06-01T04:00Z,0.2\n",
            "row 4, column 'start': gap: 2 interval(s) missing between 2024-06-01T01:00:00+00:00 "
            "and 2024-06-01T04:00:00+00:00",
        ),
        (
            "2024-06-01T00:00Z,0.1\n2024-06-01T01:00Z,\n",
            "row 3, column 'import_eur_per_kwh': missing price",
        ),
        (
            "2024-06-01T00:00Z,0.1\n2024-06-01T01:00Z,cheap\n",
            "row 3, column 'import_eur_per_kwh': not a number: 'cheap'",
        ),
        (
            "2024-06-01T00:00Z,0.1\n2024-06-01T01:00Z,85.3\n",
            "row 3, column 'import_eur_per_kwh': 85.3 EUR/kWh is outside -1..10: EUR/MWh in a "
            "EUR/kWh column?",
        ),
        (
            "2024-06-01T00:00Z,0.1\nyesterday,0.1\n",
            "row 3, column 'start': not an ISO 8601 time: 'yesterday'",
        ),
        (
            "2024-03-31 01:00,0.1\n2024-03-31 02:30,0.1\n",
            "row 3, column 'start': 2024-03-31 02:30 does not exist in Europe/Vienna (the clocks "
            "skip that hour)",
        ),
        (
            "2024-06-01T00:00Z,0.1\n2024-06-01T00:20Z,0.1\n",
            "row 3, column 'start': rows are 0:20:00 apart; expected 15 min, 30 min or 1 h",
        ),
    ],
)
def test_a_bad_price_file_is_one_line_naming_file_row_and_column(
    tmp_path: Path, body: str, message: str
) -> None:
    path = write(tmp_path, "start,import_eur_per_kwh\n" + body)
    with pytest.raises(PriceFileError) as caught:
        read_price_csv(path, VIENNA)
    assert str(caught.value) == f"{path}, {message}"


def test_a_price_file_without_a_price_column(tmp_path: Path) -> None:
    path = write(tmp_path, "start,cost\n2024-06-01T00:00Z,0.1\n2024-06-01T01:00Z,0.1\n")
    with pytest.raises(PriceFileError, match="row 1: no column named import_eur_per_kwh or "):
        read_price_csv(path)


def test_the_csv_provider_reports_a_bad_file_as_a_source_error(tmp_path: Path) -> None:
    path = write(
        tmp_path, "start,import_eur_per_kwh\n2024-06-01T00:00Z,0.1\n2024-06-01T00:00Z,0.1\n"
    )
    with pytest.raises(PriceSourceError, match=r"^csv: .*prices.csv, row 3, column 'start'"):
        CsvPrices(path).prices(datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 2, tzinfo=UTC))


# --------------------------------------------------------------------------- registry and CLI


def test_the_registry_builds_each_provider_and_needs_its_token() -> None:
    for provider, options in [
        ("flat", {"flat": {"price_eur_per_kwh": 0.3}}),
        (
            "spain_20td",
            {"spain_20td": {"p1_eur_per_kwh": 0.3, "p2_eur_per_kwh": 0.2, "p3_eur_per_kwh": 0.1}},
        ),
        ("day_night", {"day_night": {"day_eur_per_kwh": 0.3, "night_eur_per_kwh": 0.1}}),
        ("awattar", {}),
        ("nordpool", {"nordpool": {"area": "SE3"}}),
        ("csv", {"csv": {"path": "prices.csv"}}),
        ("json_url", {"json_url": {"url": "https://home.example/p"}}),
    ]:
        config = PricesConfig.model_validate({"provider": provider, **options})
        assert build_price_source(config, VIENNA, {}).name
    for provider, variable, options in [
        ("pvpc", "ESIOS_API_TOKEN", {}),
        ("entsoe", "ENTSOE_API_KEY", {"entsoe": {"zone": "10Y1001A1001A82H"}}),
        ("tibber", "TIBBER_TOKEN", {}),
    ]:
        config = PricesConfig.model_validate({"provider": provider, **options})
        with pytest.raises(
            PriceSourceError, match=f"^{provider}: set {variable} in the environment$"
        ):
            build_price_source(config, VIENNA, {})
        assert build_price_source(config, VIENNA, {variable: TOKEN}).name


def test_prices_show_prints_a_day_of_a_price_file(tmp_path: Path) -> None:
    rows = "\n".join(f"2024-06-01 {h:02d}:00,{0.1 + (h >= 12) * 0.1:.2f}" for h in range(24))
    write(tmp_path, "start,import_eur_per_kwh\n" + rows)
    config = write(
        tmp_path,
        CONFIG + f'[prices]\nprovider = "csv"\nexport = 0.05\ncache_dir = "{tmp_path}/cache"\n'
        f'[prices.csv]\npath = "{tmp_path}/prices.csv"\n[prices.retail]\nvat = 0.2\n',
        "home.toml",
    )
    result = CliRunner().invoke(
        app, ["prices", "show", "--config", str(config), "--day", "2024-06-01"]
    )
    assert result.exit_code == 0, result.output
    assert "00:00-12:00 CEST" in result.output and "0.1200" in result.output
    assert "12:00-00:00 CEST" in result.output and "0.2400" in result.output
    assert "0.0500" in result.output and "retail (spot x 1 + 0 EUR/kWh) x 1.2" in result.output


@pytest.mark.parametrize(
    ("extra", "args", "message"),
    [
        ("", ["--day", "2024-06-01"], "no [prices] section"),
        (
            '[prices]\nprovider = "entsoe"\n[prices.entsoe]\nzone = "10Y1001A1001A82H"\n',
            [],
            "error: prices show: entsoe: set ENTSOE_API_KEY in the environment",
        ),
        (
            '[prices]\nprovider = "flat"\n[prices.flat]\nprice_eur_per_kwh = 0.3\n',
            ["--day", "1.6.2024"],
            "error: prices show: --day: expected YYYY-MM-DD (got '1.6.2024')",
        ),
        (
            '[prices]\nprovider = "nordpool"\n',
            [],
            "prices: provider 'nordpool' needs its options in [prices.nordpool]",
        ),
    ],
)
def test_prices_show_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, args: list[str], message: str
) -> None:
    monkeypatch.delenv("ENTSOE_API_KEY", raising=False)
    config = write(tmp_path, CONFIG + extra, "home.toml")
    result = CliRunner().invoke(app, ["prices", "show", "--config", str(config), *args])
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1


# --------------------------------------------------------------------------- real-2017 prices


def test_the_shipped_2017_prices_are_a_whole_year_with_attribution() -> None:
    from adapters.prices.de_at_2017 import DE_AT_2017_CSV, day_ahead_de_at_2017

    series = day_ahead_de_at_2017()
    assert len(series) == 8760 and series.interval == timedelta(hours=1)
    assert series.start == datetime(2017, 1, 1, tzinfo=UTC)
    assert sum(p < 0 for p in series.imports) == 147
    assert "Source: Energinet" in series.source
    assert "Source: Energinet" in (DE_AT_2017_CSV.parent / "README.md").read_text()


def test_real_2017_bills_the_spot_price_as_its_stated_retail_tariff() -> None:
    import pandas as pd

    from optimizer.backtest.dataset import REAL_2017_RETAIL, retail_prices_2017

    prices = retail_prices_2017(
        pd.Timestamp("2017-01-01T00:00Z"), pd.Timestamp("2017-12-31T23:00Z")
    )
    assert len(prices) == 8759
    assert prices.iloc[0] == pytest.approx((20.90 / 1000 * 1.03 + 0.15) * 1.20)  # first CSV row
    assert prices.iloc[-1] == pytest.approx((-0.92 / 1000 * 1.03 + 0.15) * 1.20)  # 22:00 UTC
    assert prices.min() > 0 and 0.2 < prices.mean() < 0.25
    assert REAL_2017_RETAIL.describe() == "(spot x 1.03 + 0.15 EUR/kWh) x 1.2"


def test_prices_show_imports_no_heavy_package(tmp_path: Path) -> None:
    from tests.test_cli_imports import command_modules, heavy

    config = write(
        tmp_path,
        CONFIG + '[prices]\nprovider = "spain_20td"\n[prices.spain_20td]\n'
        "p1_eur_per_kwh = 0.3\np2_eur_per_kwh = 0.2\np3_eur_per_kwh = 0.1\n",
        "home.toml",
    )
    code, modules = command_modules(tmp_path, "prices", "show", "--config", str(config))
    assert code == 0 and "holidays" in modules  # the command ran and used the calendar
    assert heavy(modules) == []
    _, modules = command_modules(tmp_path, "prices", "--help")
    assert heavy(modules) == [] and "holidays" not in modules


def test_prices_show_names_a_failing_provider_in_one_line(tmp_path: Path) -> None:
    write(tmp_path, "start,import_eur_per_kwh\n2024-06-01T00:00Z,0.1\n2024-06-01T00:00Z,0.2\n")
    config = write(
        tmp_path,
        CONFIG + f'[prices]\nprovider = "csv"\n[prices.csv]\npath = "{tmp_path}/prices.csv"\n',
        "home.toml",
    )
    result = CliRunner().invoke(app, ["prices", "show", "--config", str(config)])
    assert result.exit_code == 1
    assert result.output == (
        f"error: prices show: csv: {tmp_path}/prices.csv, row 3, column 'start': "
        "2024-06-01T00:00:00+00:00 appears twice (duplicate interval)\n"
    )


def test_tibber_refuses_a_missing_home_and_a_foreign_currency() -> None:
    answer = json.loads(fixture("tibber_2024-06-01.json"))
    source = Tibber(
        TOKEN, home=1, transport=Recorder(lambda _: httpx.Response(200, json=answer)).transport
    )
    with pytest.raises(
        PriceSourceError, match=r"^tibber: no home 1 with a subscription \(1 homes\)$"
    ):
        source.prices(*day(date(2024, 6, 1), BERLIN))
    for price in answer["data"]["viewer"]["homes"][0]["currentSubscription"]["priceInfo"]["today"]:
        price["currency"] = "NOK"
    source = Tibber(TOKEN, transport=Recorder(lambda _: httpx.Response(200, json=answer)).transport)
    with pytest.raises(PriceSourceError, match=r"^tibber: prices in NOK, not EUR$"):
        source.prices(*day(date(2024, 6, 1), BERLIN))

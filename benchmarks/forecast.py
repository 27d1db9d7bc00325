"""Forecast benchmark on real measured data (Graz 2017, sunpeek-exampledata, CC-BY-SA-4.0).

    .venv/bin/python benchmarks/forecast.py [--out benchmarks/forecast_results.md]

1. Accuracy: the Graz 2017 PV series of the default 8 kWp array, observed at
   random 1-5 min spacing (seeded) and at a fixed 2 min, forecasts issued every
   15 min in daylight; MAE / RMSE (W) at 5, 15, 60, 240 min against
   persistence, smart persistence and the clear-sky model.
2. Calibration: from a config with kWp 30 % too high and azimuth 20 degrees
   off, the calibrated kWp after 1, 7 and 30 days, for a start on the 1st of
   each month with data; compared with the truth (8 kWp) and with what the
   same calibration learns from the *correct* config (the clear-sky model's
   own bias at this site).
3. Speed: a 48 h forecast at 1-min resolution, cold (clear-sky days not yet
   cached) and warm; `observe` per call.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.datasets import load_graz_pv
from optimizer.forecast.evaluation import Scores, calibration_track, evaluate
from optimizer.forecast.forecaster import PvForecaster
from optimizer.site import GRAZ, SiteConfig

TRUE_KWP = GRAZ.kwp


def _wrong_site() -> SiteConfig:
    array = GRAZ.arrays[0].model_copy(
        update={"kwp": TRUE_KWP * 1.3, "azimuth_deg": GRAZ.arrays[0].azimuth_deg + 20.0}
    )
    return GRAZ.model_copy(update={"arrays": (array,)})


def accuracy_table(scores: Scores, title: str) -> list[str]:
    """Markdown table of MAE and RMSE per horizon and method."""
    lines = [
        f"#### {title}",
        "",
        f"{scores.observations} observations; calibrated kWp at the end "
        f"{scores.calibrated_kwp:.2f} (true {TRUE_KWP:.1f}).",
        "",
        "| horizon | n | forecast MAE | persistence | smart persistence | clear sky "
        "| forecast RMSE | persistence | smart persistence | clear sky |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for h, mae in scores.mae_w.items():
        rmse = scores.rmse_w[h]
        cells = [f"{mae[m]:.0f}" for m in mae] + [f"{rmse[m]:.0f}" for m in rmse]
        lines.append(f"| {h} min | {scores.count[h]} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def calibration_table(pv: pd.Series) -> list[str]:
    """Calibrated kWp error after 1, 7, 30 days, per start month."""
    lines = [
        "| start | wrong config: error after 1 d | 7 d | 30 d "
        "| correct config: error after 7 d | 30 d | wrong vs correct after 7 d |",
        "|---|---|---|---|---|---|---|",
    ]
    errors7: dict[int, float] = {}
    relative7: dict[int, float] = {}
    for month in (1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12):
        start = pd.Timestamp(2017, month, 1, tz="UTC")
        piece = pv[start : start + pd.Timedelta(days=31)]
        wrong = calibration_track(piece, _wrong_site())
        right = calibration_track(piece, GRAZ, after_days=(7, 30))
        e = {d: wrong[d] / TRUE_KWP - 1.0 for d in wrong}
        c = {d: right[d] / TRUE_KWP - 1.0 for d in right}
        rel7 = wrong[7] / right[7] - 1.0
        errors7[month] = abs(e[7])
        relative7[month] = abs(rel7)
        lines.append(
            f"| 2017-{month:02d}-01 | {e[1]:+.1%} | {e[7]:+.1%} | {e[30]:+.1%} "
            f"| {c[7]:+.1%} | {c[30]:+.1%} | {rel7:+.1%} |"
        )
    lines.append("")
    for label, months in (
        ("odd months (used to choose the calibration's settings)", (1, 3, 5, 7, 9, 11)),
        ("even months (held out)", (2, 6, 8, 10, 12)),
    ):
        e7 = [errors7[m] for m in months]
        r7 = [relative7[m] for m in months]
        lines.append(
            f"- {label}: after 7 days within 5 % of the true kWp in "
            f"{sum(x <= 0.05 for x in e7)} of {len(e7)} starts (median |error| "
            f"{statistics.median(e7):.1%}); within 5 % of what the correct config calibrates "
            f"to in {sum(x <= 0.05 for x in r7)} of {len(r7)} (median {statistics.median(r7):.1%})."
        )
    return [*lines, ""]


def speed_lines() -> list[str]:
    """Timing of a 48 h 1-min forecast and of observe."""
    start = datetime(2017, 6, 1, 10, tzinfo=UTC)
    cold: list[float] = []
    warm: list[float] = []
    for day in range(5):
        forecaster = PvForecaster(GRAZ)
        t0 = start + timedelta(days=7 * day)
        forecaster.observe(t0, 4000.0)
        tic = time.perf_counter()
        forecaster.forecast(t0, t0 + timedelta(hours=48), 60.0)
        cold.append(time.perf_counter() - tic)
        tic = time.perf_counter()
        for _ in range(200):
            forecaster.forecast(t0, t0 + timedelta(hours=48), 60.0)
        warm.append((time.perf_counter() - tic) / 200)
    forecaster = PvForecaster(GRAZ)
    forecaster.observe(start, 1000.0)
    n = 20_000
    tic = time.perf_counter()
    for i in range(n):
        forecaster.observe(start + timedelta(seconds=3 * i), 4000.0 + (i % 7) * 50.0)
    per_observe = (time.perf_counter() - tic) / n
    return [
        f"- 48 h forecast at 1-min resolution (2880 points): warm (clear-sky days cached) "
        f"median {statistics.median(warm) * 1e3:.2f} ms; cold (three days of pvlib clear "
        f"sky computed first) median {statistics.median(cold) * 1e3:.1f} ms. Goal < 50 ms.",
        f"- `observe`: {per_observe * 1e6:.1f} us per call (20,000 calls over 17 h).",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("forecast_results.md"))
    args = parser.parse_args()
    pv = load_graz_pv()
    report = pv.attrs["gap_report"]
    lines = [
        "### Forecast (Graz 2017, real 1-min data)",
        "",
        "Command: `.venv/bin/python benchmarks/forecast.py`",
        "",
        f"Data: sunpeek-exampledata Graz 2017 (CC-BY-SA-4.0), measured irradiance on the 30 deg "
        f"south plane turned into the AC power of an 8 kWp / 7 kW array; {report}. Only daylight "
        "targets with a measurement are scored; forecasts every 15 min.",
        "",
    ]
    for label, every in (("random 1-5 min sampling", None), ("2 min sampling", 120.0)):
        lines += accuracy_table(evaluate(pv, GRAZ, sample_every_s=every), label)
        print("\n".join(lines[-9:]), flush=True)
    lines += ["#### Calibration from kWp +30 % and azimuth +20 deg", ""]
    lines += calibration_table(pv)
    lines += [
        "What is left after 7 days is mostly the clear-sky model's own bias at Graz (column "
        "'correct config'), not the config error: on clear days the measured 2017 plane "
        "irradiance is above the Linke-turbidity climatology (clearer air than average), and "
        "the model runs the cells at 20 degC while Graz's clear winter days are near 0 degC "
        "(+4..8 % power). A December start gets no clear half-day with enough steady samples "
        "within 2 h of noon at 1-5 min sampling, so the config stays as typed.",
        "",
    ]
    lines += ["#### Speed", ""]
    lines += speed_lines()
    text = "\n".join(lines)
    args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

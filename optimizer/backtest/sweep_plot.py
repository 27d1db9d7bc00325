"""The heat map of a sweep: two swept keys on the axes, one metric as colour (matplotlib, Agg).

Runs that share a cell (other swept keys, policies or slices) are averaged, and the
title says so; failed runs (no metrics) are left out, and a cell with none is blank.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def heatmap_axes(
    table: pd.DataFrame, keys: tuple[str, ...], x: str | None = None, y: str | None = None
) -> tuple[str, str | None]:
    """The keys to plot, x then y: those given, else the first swept keys with more than one
    value (then the others); y None when no other key was swept."""
    varied = [k for k in keys if table[k].nunique(dropna=False) > 1]
    ranked = [*varied, *(k for k in keys if k not in varied)]
    x = x or next(iter(ranked), None)
    if x is None:
        raise ValueError("heat map: no swept key to put on an axis")
    return x, y or next((k for k in ranked if k != x), None)


def plot_heatmap(table: pd.DataFrame, x: str, y: str | None, metric: str, path: str | Path) -> Path:
    """Write a PNG of `metric` over `x` (columns) and `y` (rows); returns the path.

    ValueError naming the column when `x`, `y` or `metric` is not in the table.
    """
    for column in (x, y, metric):
        if column is not None and column not in table.columns:
            raise ValueError(f"heat map: no column {column!r} in the sweep table")
    rows = table[table[metric].notna()]
    index = rows[y] if y is not None else pd.Series("", index=rows.index, name="")
    grid = rows.groupby([index, rows[x]])[metric].mean().unstack(x)
    grid = grid.reindex(index=_values(table, y), columns=_values(table, x))
    shared = int(rows.groupby([index, rows[x]]).size().max()) if len(rows) else 0
    fig, ax = plt.subplots(figsize=(1.6 * len(grid.columns) + 3, 1.0 * len(grid.index) + 2.2))
    values = grid.to_numpy(float)
    image = ax.imshow(values, cmap="viridis", origin="lower", aspect="auto")
    ax.set_xticks(range(len(grid.columns)), [str(v) for v in grid.columns])
    ax.set_yticks(range(len(grid.index)), [str(v) for v in grid.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y or "")
    fig.colorbar(image, ax=ax, label=metric)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if np.isfinite(values[i, j]):
                ax.text(j, i, f"{values[i, j]:.4g}", ha="center", va="center", fontsize=9,
                        bbox={"facecolor": "white", "alpha": 0.6, "lw": 0})  # fmt: skip
    averaged = f" (mean of {shared} runs per cell)" if shared > 1 else ""
    ax.set_title(f"{metric}{averaged}")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def _values(table: pd.DataFrame, key: str | None) -> list[object]:
    """The key's values in the order the sweep gave them ([""] for no key)."""
    return [""] if key is None else list(dict.fromkeys(table[key]))

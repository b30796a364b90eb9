"""The benchmark chart (`connector bench --plot`): each backend beside its bare transport.

One horizontal pair of bars per row with numbers (backend and bare transport, same run) on a
logarithmic axis, labelled with the ratio. matplotlib is part of the `cli` extra; it is
imported only here, with the non-interactive Agg backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from connector_core.benchmarking.rows import Row

__all__ = ["plot_rows"]


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None


def plot_rows(rows: Sequence[Row], path: Path, title: str) -> int:
    """Draws the rows' throughput (log scale) into a PNG file at `path`.

    Args:
        rows: Benchmark rows; those without both throughputs, and latency rows (whose ratio
            compares p50s), are left out.
        path: Where to write the PNG (parent folders are created).
        title: The chart's title (say where and when it was measured).

    Returns:
        How many rows were drawn.

    Raises:
        ValueError: If no row has numbers to draw.
        ModuleNotFoundError: If matplotlib is not installed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = [
        row
        for row in rows
        if _number(row.get("msgs_per_s"))
        and _number(row.get("baseline_msgs_per_s"))
        and row.get("ratio_of") != "p50"
    ]
    if not drawn:
        raise ValueError("no benchmark row has numbers to plot")
    labels = [f"{row['backend']} {row['scenario']}\nvs {row['baseline']}" for row in drawn]
    ours = [float(row["msgs_per_s"]) for row in drawn]  # type: ignore[arg-type]
    bare = [float(row["baseline_msgs_per_s"]) for row in drawn]  # type: ignore[arg-type]
    height = 0.38
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.75 * len(drawn)))
    ys = list(range(len(drawn)))[::-1]
    ax.barh([y + height / 2 for y in ys], ours, height, label="connector backend")
    ax.barh([y - height / 2 for y in ys], bare, height, label="bare transport", color="#bbbbbb")
    for y, row, value in zip(ys, drawn, ours, strict=True):
        ratio = row.get("ratio")
        text = f" {value:,.0f}/s" + (f"  ({ratio:.2f}x)" if isinstance(ratio, float) else "")
        ax.text(value, y + height / 2, text, va="center", fontsize=8)
    ax.set_yticks(ys, labels, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(min(ours + bare) / 2, max(ours + bare) * 15)  # room for the value labels
    ax.set_axisbelow(True)
    ax.set_xlabel("messages per second (log scale)")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", which="major", alpha=0.4)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return len(drawn)

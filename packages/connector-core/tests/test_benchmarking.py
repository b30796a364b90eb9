"""The benchmark kit (`connector_core.benchmarking`) and the asyncio backend's scenarios."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from connector_core import ConnectorMode, bench
from connector_core.benchmarking import (
    ROW_KEYS,
    Comparison,
    Measurement,
    best_of,
    comparison_row,
    expect_count,
    note_row,
    percentile_us,
    run_scenarios,
)
from connector_core.benchmarking.table import COLUMNS, cells, meets_target


def _comparison(scenario: str = "pipeline", target: float | None = None) -> Comparison:
    ours = Measurement(1000, 0.5, [1_000, 2_000, 3_000])
    bare = Measurement(100, 0.5, [4_000])
    return Comparison(scenario, "bare queue", ours, bare, target)


def test_percentile_is_the_nearest_rank_in_microseconds() -> None:
    samples = [n * 1000 for n in range(100, 0, -1)]
    assert (percentile_us(samples, 50), percentile_us(samples, 99)) == (50.0, 99.0)
    assert percentile_us([1_500], 99) == 1.5


def test_percentile_of_no_samples_is_none() -> None:
    assert percentile_us([], 50) is None


def test_a_comparison_row_has_every_key_and_the_ratio_of_the_same_run() -> None:
    row = comparison_row("mine", _comparison(target=5.0))
    assert tuple(row) == ROW_KEYS
    assert (row["msgs_per_s"], row["baseline_msgs_per_s"], row["ratio"]) == (2000.0, 200.0, 10.0)
    assert (row["p50_us"], row["baseline_p99_us"], row["target"]) == (2.0, 4.0, 5.0)


def test_a_note_row_has_every_key_and_says_why() -> None:
    row = note_row("mine", "no broker")
    assert set(ROW_KEYS) <= set(row)
    assert (row["backend"], row["note"], row["msgs_per_s"]) == ("mine", "no broker", None)


def test_run_scenarios_runs_plain_and_async_scenarios_in_order_with_quick() -> None:
    seen: list[bool] = []

    def plain(quick: bool) -> Comparison:
        seen.append(quick)
        return _comparison("plain")

    async def awaited(quick: bool) -> Comparison:
        seen.append(quick)
        return _comparison("awaited")

    rows = run_scenarios("mine", [plain, awaited], quick=True)
    assert [(row["backend"], row["scenario"]) for row in rows] == [
        ("mine", "plain"),
        ("mine", "awaited"),
    ]
    assert seen == [True, True]


def test_run_scenarios_lets_a_failing_scenario_raise() -> None:
    def broken(quick: bool) -> Comparison:
        raise RuntimeError("broker down")

    with pytest.raises(RuntimeError, match="broker down"):
        run_scenarios("mine", [broken], quick=True)


def test_expect_count_refuses_a_run_that_lost_messages() -> None:
    with pytest.raises(RuntimeError, match="received 9 messages, expected 10"):
        expect_count("pipeline", 9, 10)


async def test_best_of_interleaves_the_trials_and_keeps_each_fastest() -> None:
    order: list[str] = []
    times = {"ours": iter([3.0, 1.0, 2.0]), "bare": iter([5.0, 6.0, 4.0])}

    def trial(name: str) -> Callable[[], Awaitable[float]]:
        async def run() -> float:
            order.append(name)
            return next(times[name])

        return run

    best = await best_of(3, trial("ours"), trial("bare"))
    assert best == [1.0, 4.0]
    assert order == ["ours", "bare"] * 3


def test_table_cells_show_the_ratio_and_both_latencies() -> None:
    text = cells(comparison_row("mine", _comparison()))
    assert len(text) == len(COLUMNS)
    assert text[3:] == ["2,000", "200", "10x", "2 / 3", "4 / 4"]


def test_table_cells_of_a_row_without_numbers_show_its_note() -> None:
    assert cells(note_row("mine", "no broker"))[:3] == ["mine", "cannot run", "no broker"]


def test_meets_target_compares_the_ratio_with_the_target() -> None:
    assert meets_target(comparison_row("m", _comparison(target=10.0))) is True
    assert meets_target(comparison_row("m", _comparison(target=10.5))) is False
    assert meets_target(comparison_row("m", _comparison())) is None


def test_chart_draws_one_pair_of_bars_per_row_with_numbers(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib comes with the cli extra")
    from connector_core.benchmarking.chart import plot_rows

    rows = [comparison_row("mine", _comparison()), note_row("other", "not installed")]
    assert plot_rows(rows, tmp_path / "chart.png", "title") == 1
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"


def test_chart_refuses_rows_without_numbers(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib comes with the cli extra")
    from connector_core.benchmarking.chart import plot_rows

    with pytest.raises(ValueError, match="no benchmark row has numbers"):
        plot_rows([note_row("other", "x")], tmp_path / "chart.png", "title")


# -- the asyncio backend's scenarios (connector_core.bench) -------------------------------------


async def test_asyncio_bench_pipeline_delivers_every_message() -> None:
    assert await bench._channel_run(ConnectorMode.PIPELINE, 500) > 0


async def test_asyncio_bench_pubsub_delivers_every_message_to_every_subscriber() -> None:
    assert await bench._channel_run(ConnectorMode.PUBSUB, 500, 4) > 0


async def test_asyncio_bench_latency_gives_one_sample_per_delivery() -> None:
    samples = await bench._channel_latency(ConnectorMode.PUBSUB, 4, 50)
    assert len(samples) == 200
    assert min(samples) >= 0


def test_asyncio_bench_gives_one_row_per_scenario_with_the_issue_targets() -> None:
    rows = bench.run(quick=True)
    assert [(row["scenario"], row["baseline"], row["target"]) for row in rows] == [
        ("pipeline", bench.BASELINE_QUEUE, 0.5),
        ("pubsub-1", bench.BASELINE_QUEUE, None),
        ("pubsub-4", bench.BASELINE_QUEUE, 0.1),
        ("pubsub-4", bench.BASELINE_FANOUT, None),
    ]

"""The benchmark kit (`connector_core.benchmarking`) and the asyncio backend's scenarios."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from connector_core import AsyncioConnector, ConnectorMode, ConnectorSpec, bench
from connector_core.benchmarking import (
    RATIO_OF_P50,
    ROUND_TRIPS,
    ROW_KEYS,
    SCENARIOS_ENV,
    Comparison,
    Measurement,
    best_of,
    comparison_row,
    expect_count,
    note_row,
    percentile_us,
    round_trips,
    run_scenarios,
)
from connector_core.benchmarking.machine import QUEUE_BASELINE, machine_scenarios
from connector_core.benchmarking.measure import pooled
from connector_core.benchmarking.scenarios import (
    LATENCY_ROUNDS,
    BareRoundTrips,
    OpenedOnce,
    latency_scenario,
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


def test_a_latency_row_compares_p50s_bare_over_ours() -> None:
    ours = Measurement(3, 0.5, [1_000, 2_000, 3_000])
    bare = Measurement(3, 0.1, [1_000, 1_000, 1_000])
    row = comparison_row("mine", Comparison("latency", "bare", ours, bare, 0.8, RATIO_OF_P50))
    assert (row["ratio"], row["ratio_of"], row["target"]) == (0.5, "p50", 0.8)
    assert cells(row)[5] == "0.5x*"
    assert meets_target(row) is False


def test_a_latency_comparison_without_samples_cannot_make_a_row() -> None:
    empty = Measurement(3, 0.5)
    with pytest.raises(ValueError, match="needs latency samples"):
        comparison_row("mine", Comparison("latency", "bare", empty, empty, None, RATIO_OF_P50))


def test_a_comparison_refuses_an_unknown_ratio() -> None:
    with pytest.raises(ValueError, match="ratio_of must be"):
        Comparison("x", "bare", Measurement(1, 1.0), Measurement(1, 1.0), None, "p90")


async def test_round_trips_times_each_item_after_the_warmup() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    measured = await round_trips(queue.put, queue.get, 30, warmup=5)
    assert (measured.messages, len(measured.latencies_ns)) == (30, 30)
    assert measured.seconds == sum(measured.latencies_ns) / 1e9


async def test_round_trips_refuses_a_recv_that_returns_another_item() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()

    async def send_twice(i: int) -> None:
        await queue.put(-1)
        await queue.put(i)

    with pytest.raises(RuntimeError, match="round trip 0: received -1, expected 0"):
        await round_trips(send_twice, queue.get, 3)


def test_run_scenarios_runs_only_the_scenarios_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def pipeline(quick: bool) -> Comparison:
        return _comparison("pipeline")

    def latency(quick: bool) -> Comparison:
        return _comparison("latency")

    monkeypatch.setenv(SCENARIOS_ENV, " latency, other ")
    assert [r["scenario"] for r in run_scenarios("m", [pipeline, latency], True)] == ["latency"]
    monkeypatch.delenv(SCENARIOS_ENV)
    assert len(run_scenarios("m", [pipeline, latency], True)) == 2


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


def test_pooled_adds_up_messages_and_seconds_and_keeps_every_sample() -> None:
    total = pooled([Measurement(2, 0.5, [1, 2]), Measurement(3, 1.5, [3])])
    assert (total.messages, total.seconds, list(total.latencies_ns)) == (5, 2.0, [1, 2, 3])


async def test_latency_scenario_alternates_bare_rounds_with_one_connection_of_ours() -> None:
    order: list[str] = []

    async def bare(count: int) -> Measurement:
        order.append("bare")
        return Measurement(count, 0.1, [5_000] * count)

    def make(mode: ConnectorMode, maxsize: int) -> AsyncioConnector:
        order.append("make")
        return AsyncioConnector(ConnectorSpec("l.out", "l.in", mode=mode), maxsize=maxsize)

    run = latency_scenario(make, bare, "bare pair")(True)
    assert not isinstance(run, Comparison)  # the scenario is a coroutine function
    comparison = await run
    assert order == ["make"] + ["bare"] * LATENCY_ROUNDS
    share = -(-ROUND_TRIPS[0] // LATENCY_ROUNDS)
    assert comparison.bare.messages == comparison.ours.messages == share * LATENCY_ROUNDS
    assert len(comparison.ours.latencies_ns) == share * LATENCY_ROUNDS


async def test_latency_scenario_opens_a_bare_transport_opened_once_for_every_round() -> None:
    events: list[str] = []

    async def bare(count: int) -> Measurement:
        events.append("round")
        return Measurement(count, 0.1, [5_000] * count)

    @contextlib.asynccontextmanager
    async def open_bare() -> AsyncIterator[BareRoundTrips]:
        events.append("open")
        yield bare
        events.append("close")

    def make(mode: ConnectorMode, maxsize: int) -> AsyncioConnector:
        return AsyncioConnector(ConnectorSpec("l.out", "l.in", mode=mode), maxsize=maxsize)

    run = latency_scenario(make, OpenedOnce(open_bare), "bare pair")(True)
    assert not isinstance(run, Comparison)
    comparison = await run
    assert events == ["open"] + ["round"] * LATENCY_ROUNDS + ["close"]
    assert comparison.bare.messages == comparison.ours.messages


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
        ("latency 1x1", bench.BASELINE_QUEUE, None),
        ("batches of 1000", QUEUE_BASELINE, None),
    ]
    assert [row["ratio_of"] for row in rows] == ["msgs/s"] * 4 + ["p50", "msgs/s"]


def test_asyncio_bench_latency_scenario_gives_a_well_formed_p50_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SCENARIOS_ENV, "latency")
    (row,) = bench.run(quick=True)
    assert tuple(row) == ROW_KEYS
    count = -(-ROUND_TRIPS[0] // LATENCY_ROUNDS) * LATENCY_ROUNDS
    assert (row["scenario"], row["messages"], row["baseline_messages"]) == (
        "latency 1x1",
        count,
        count,
    )
    for key in ("p50_us", "p99_us", "baseline_p50_us", "baseline_p99_us", "ratio"):
        assert isinstance(row[key], float), key
        assert row[key] > 0, key  # type: ignore[operator]
    assert row["ratio"] == round(row["baseline_p50_us"] / row["p50_us"], 3)  # type: ignore[operator]


def _make(mode: ConnectorMode, maxsize: int) -> AsyncioConnector:
    return AsyncioConnector(ConnectorSpec("m.out", "m.in", mode=mode), maxsize=maxsize)


def test_machine_scenarios_compare_with_the_queue_the_pipeline_and_hmac() -> None:
    scenarios = machine_scenarios(_make, {"batch": 1.5}, quick_items=3000, large_count=(2, 2))
    rows = run_scenarios("asyncio", scenarios, quick=True)
    assert [(row["scenario"], row["target"]) for row in rows] == [
        ("pipeline 1x1 vs queue", None),
        ("batches of 1000", 1.5),
        ("pubsub 1x4 vs own pipeline", None),
        ("16 MiB items", None),
    ]
    assert [row["messages"] for row in rows] == [3000, 3000, 1500, 2]
    assert [row["item_bytes"] for row in rows] == [None, None, None, 16 * 2**20]


def test_machine_scenarios_only_returns_the_named_ones() -> None:
    scenarios = machine_scenarios(_make, {}, only=["large"])
    assert [s.__name__ for s in scenarios] == ["large"]


def test_a_large_items_row_shows_mib_per_s() -> None:
    row = {**dict.fromkeys(ROW_KEYS), "msgs_per_s": 2.0, "baseline_msgs_per_s": 4.0}
    row["item_bytes"] = 2**20
    assert cells(row)[3:5] == ["2 (2 MiB/s)", "4 (4 MiB/s)"]

"""The history chart's geometry: every mark inside the plot, tallest bar and longest run at the top."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from calsync.console.charts import RunPoint, duration_text, history_chart, history_svg, nice_ceiling

START = datetime(2026, 12, 1, tzinfo=UTC)
points = st.lists(
    st.builds(
        RunPoint,
        at=st.just(START),
        items=st.integers(0, 10**6),
        unchanged=st.integers(0, 10**6),
        errors=st.integers(0, 100),
        seconds=st.floats(0, 10**5, allow_nan=False),
        failed=st.booleans(),
    ),
    min_size=1,
    max_size=60,
)


@given(points)
def test_it_keeps_every_mark_inside_the_plot(runs):
    chart = history_chart(runs, width=270, height=112)

    assert len(chart.bars) == len(chart.dots) == len(runs)
    for bar in chart.bars:
        assert chart.left <= bar.x and bar.x + bar.width <= chart.right + 0.1
        assert chart.top - 0.1 <= bar.y <= chart.bottom and bar.height >= 0
    for x, y, _title in chart.dots:
        assert chart.left <= x <= chart.right and chart.top - 0.1 <= y <= chart.bottom


@given(st.floats(0, 10**9, allow_nan=False))
def test_nice_ceiling_is_a_round_number_at_or_above(value):
    ceiling = nice_ceiling(value)

    assert ceiling >= value and ceiling >= 1
    assert ceiling / 10 ** len(str(int(ceiling))[1:]) in (1, 2, 5, 10)


def test_it_draws_runs_in_time_order_with_the_failed_one_marked():
    runs = [
        RunPoint(at=START + timedelta(hours=i), items=items, unchanged=0, errors=0, seconds=s, failed=i == 1, run_id=i)
        for i, (items, s) in enumerate([(10, 30.0), (50, 120.0), (20, 60.0)])
    ]

    chart = history_chart(runs, width=300, height=120)

    assert [bar.run_id for bar in chart.bars] == [0, 1, 2]
    assert chart.bars[1].y == chart.top  # 50 items: the axis maximum
    assert chart.bars[0].height == (chart.bottom - chart.top) / 5
    assert [bar.failed for bar in chart.bars] == [False, True, False]
    assert "Run #1" in chart.bars[1].title and "failed" in chart.bars[1].title
    assert chart.first_label == "01 Dec 00:00" and chart.last_label == "01 Dec 02:00"
    assert [tick.items for tick in chart.ticks] == ["0", "25", "50"]


def test_it_says_durations_the_way_people_do():
    assert [duration_text(s) for s in (0, 4.2, 31, 360, 4000)] == ["0 s", "4.2 s", "31 s", "6.0 min", "1.1 h"]


def test_an_empty_history_is_an_empty_chart():
    assert history_chart([]).empty


def test_its_svg_escapes_every_text_and_links_each_bar_to_its_run():
    run = RunPoint(at=START, items=3, unchanged=0, errors=0, seconds=2.0, failed=False, run_id=7)

    svg = history_svg(history_chart([run]), label='History of <script>alert("x")</script>', run_url="/runs/{id}/")

    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert '<a href="/runs/7/"><rect' in svg
    assert svg.startswith("<svg ") and svg.endswith("</svg>")

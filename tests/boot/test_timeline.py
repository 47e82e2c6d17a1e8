"""The run timeline: the critical path to readiness, and the SVG the server draws."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from apps.boot import timeline
from apps.boot.states import RunState, StageState
from apps.boot.status import RunStatus, StageStatus

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def stage(name: str, start: float | None, end: float | None, *, critical: bool = False,
          depends_on: tuple[str, ...] = (), queued: float | None = None,
          state: StageState = StageState.SUCCEEDED) -> StageStatus:
    return StageStatus(
        name=name, critical=critical, depends_on=depends_on, state=state,
        queued_at=at(queued) if queued is not None else None,
        started_at=at(start) if start is not None else None,
        finished_at=at(end) if end is not None else None,
        duration_ms=int((end - start) * 1000) if start is not None and end is not None else None,
    )


def run(*stages: StageStatus, ready: float | None = None, finished: float | None = None,
        state: RunState = RunState.COMPLETE) -> RunStatus:
    status = RunStatus(trigger="test", state=state, started_at=T0,
                       ready_at=at(ready) if ready is not None else None,
                       finished_at=at(finished) if finished is not None else None)
    status.stages = {s.name: s for s in stages}
    return status


def diamond() -> RunStatus:
    """db -> (slow, fast) -> api (critical); plus a non-critical stage ending last."""
    return run(
        stage("db", 0.0, 1.0),
        stage("slow", 1.0, 4.0, depends_on=("db",)),
        stage("fast", 1.0, 2.0, depends_on=("db",)),
        stage("api", 4.0, 5.0, critical=True, depends_on=("fast", "slow")),
        stage("report", 0.0, 9.0),
        ready=5.0, finished=9.0,
    )


def test_critical_path__walks_back_through_the_dependency_that_ended_last() -> None:
    assert timeline.critical_path(diamond()) == ["db", "slow", "api"]


def test_critical_path__starts_from_the_critical_stage_that_ended_last() -> None:
    status = run(stage("a", 0.0, 1.0, critical=True), stage("b", 0.0, 3.0, critical=True),
                 stage("c", 0.0, 8.0), ready=3.0, finished=8.0)
    assert timeline.critical_path(status) == ["b"]


def test_critical_path__is_empty_before_readiness_or_without_critical_stages() -> None:
    assert timeline.critical_path(run(stage("a", 0.0, None, critical=True,
                                            state=StageState.RUNNING),
                                      state=RunState.STARTING)) == []
    assert timeline.critical_path(run(stage("a", 0.0, 1.0), ready=1.0, finished=1.0)) == []


def test_timeline__draws_one_bar_per_stage_on_a_shared_axis() -> None:
    svg = str(timeline.build(diamond()).svg)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    bars = dict(re.findall(r'data-stage="([^"]+)">.*?<rect class="tl-run" x="([\d.]+)"', svg))
    assert list(bars) == ["db", "report", "slow", "fast", "api"]  # in the order they began
    # db and report start together at the origin; slow and fast together after db.
    assert bars["db"] == bars["report"]
    assert bars["slow"] == bars["fast"] > bars["db"]
    widths = dict(re.findall(r'data-stage="([^"]+)">.*?<rect class="tl-run" x="[\d.]+" '
                             r'y="[\d.]+" width="([\d.]+)"', svg))
    assert float(widths["slow"]) == 3 * float(widths["db"])


def test_timeline__marks_readiness_and_the_critical_path() -> None:
    drawn = timeline.build(diamond())
    svg = str(drawn.svg)
    assert drawn.critical_path == ("db", "slow", "api")
    assert '<g class="tl-critical-path" data-stages="db slow api">' in svg
    assert svg.count('class="tl-stage state-succeeded tl-on-path"') == 3
    ready_x = float(re.search(r'<g class="tl-ready"><line x1="([\d.]+)"', svg).group(1))
    api_end = timeline.LABEL_WIDTH + timeline.PLOT_WIDTH * 5 / 10  # the axis ends at 10 s
    assert ready_x == api_end
    assert "ready 5 s" in svg


def test_timeline__draws_queued_time_apart_from_running_time() -> None:
    svg = str(timeline.build(run(stage("q", 2.0, 3.0, queued=0.5), ready=None,
                                 finished=3.0)).svg)
    queued = re.search(r'<rect class="tl-queued" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    running = re.search(r'<rect class="tl-run" x="([\d.]+)"', svg)
    assert float(queued.group(1)) < float(running.group(1))
    assert round(float(queued.group(1)) + float(queued.group(2)), 1) == float(running.group(1))
    assert "queued 1.5 s" in svg


def test_timeline__a_running_stage_reaches_now() -> None:
    status = run(stage("a", 0.0, None, state=StageState.RUNNING), state=RunState.STARTING)
    svg = str(timeline.build(status, now=at(2.0)).svg)
    assert 'class="tl-run tl-open"' in svg
    assert "tl-ready" not in svg


def test_timeline__escapes_stage_names() -> None:
    svg = str(timeline.build(run(stage("<script>x</script>", 0.0, 1.0), finished=1.0)).svg)
    assert "<script>" not in svg and "&lt;script&gt;" in svg

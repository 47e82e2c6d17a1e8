"""A run's timeline as inline SVG: one bar per stage on a shared time axis, drawn by the server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .render import stage_duration
from .status import RunStatus, StageStatus

LABEL_WIDTH = 190
PLOT_WIDTH = 620
RIGHT_PAD = 70
AXIS_HEIGHT = 28
ROW_HEIGHT = 24
BAR_HEIGHT = 14
BOTTOM_PAD = 20
# Tick steps in seconds: the first that gives at most MAX_TICKS intervals is used.
STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120,
         300, 600, 900, 1800, 3600)
MAX_TICKS = 8


@dataclass(frozen=True)
class Timeline:
    """The drawn timeline and what it shows."""

    svg: SafeString
    critical_path: tuple[str, ...]
    span_seconds: float


def critical_path(status: RunStatus) -> list[str]:
    """Return the chain of stages whose end times determined ready_at, first to last.

    Walk back from the critical stage that finished last through, at each step, the
    dependency that finished last: shortening any stage on this chain would make the
    process ready sooner, and shortening any other would not.
    """
    if status.ready_at is None:
        return []
    stages = status.stages
    ended = [s for s in stages.values() if s.critical and s.finished_at is not None]
    if not ended:
        return []
    current = max(ended, key=_end)
    chain = [current.name]
    while True:
        dependencies = [stages[name] for name in current.depends_on
                        if name in stages and stages[name].finished_at is not None
                        and name not in chain]
        if not dependencies:
            break
        current = max(dependencies, key=_end)
        chain.append(current.name)
    return chain[::-1]


def ordered(status: RunStatus) -> list[StageStatus]:
    """Return the stages in the order they began, those yet to begin last by priority.

    Rows keep their places while a run goes on: a stage only moves when it starts.
    """
    declared = list(status.stages.values())

    def key(stage: StageStatus) -> tuple:
        begin = stage.queued_at or stage.started_at or stage.finished_at
        if begin is None:
            return (1, 0.0, -stage.priority, declared.index(stage))
        return (0, (begin - status.started_at).total_seconds(), -stage.priority,
                declared.index(stage))

    return sorted(declared, key=key)


def build(status: RunStatus, *, now: datetime | None = None) -> Timeline:
    """Draw the run: queued time lighter than running time, the critical path, readiness."""
    now = now or timezone.now()
    stages = ordered(status)
    origin = min([status.started_at, *(t for s in stages for t in _times(s))])
    moments = [t for s in stages for t in _times(s)]
    moments += [t for t in (status.ready_at, status.finished_at) if t is not None]
    if not status.terminal:
        moments.append(now)
    span = max([(t - origin).total_seconds() for t in moments] + [0.001])
    step = next((s for s in STEPS if span / s <= MAX_TICKS), STEPS[-1])
    # The axis ends on a whole tick, so bars never touch the right edge.
    axis_end = step * max(1, -(-span // step))
    path = critical_path(status)
    scale = Scale(origin=origin, seconds=axis_end)

    height = AXIS_HEIGHT + ROW_HEIGHT * max(len(stages), 1) + BOTTOM_PAD
    width = LABEL_WIDTH + PLOT_WIDTH + RIGHT_PAD
    parts = [
        f'<svg class="boot-timeline" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="Timeline of run {escape(status.id)}">',
        f"<title>Timeline of run {escape(status.id)}: {len(stages)} stages over "
        f"{_seconds(span)}</title>",
    ]
    parts += _axis(step, axis_end, height)
    rows = {stage.name: AXIS_HEIGHT + ROW_HEIGHT * index for index, stage in enumerate(stages)}
    for stage in stages:
        parts += _row(stage, rows[stage.name], scale, now=now, on_path=stage.name in path)
    parts += _critical_path(path, status, rows, scale)
    if status.ready_at is not None:
        x = scale.x(status.ready_at)
        ready_in = (status.ready_at - status.started_at).total_seconds()
        bottom = height - BOTTOM_PAD
        parts += [
            f'<g class="tl-ready"><line x1="{x:.1f}" x2="{x:.1f}" y1="{AXIS_HEIGHT - 4}" '
            f'y2="{bottom + 4}"/>',
            f'<text x="{x:.1f}" y="{bottom + 15}" text-anchor="middle">'
            f"ready {_seconds(ready_in)}</text>",
            f"<title>ready at {_seconds(ready_in)}: every critical stage ended well</title></g>",
        ]
    if not stages:
        parts.append(f'<text class="tl-empty" x="{LABEL_WIDTH}" y="{AXIS_HEIGHT + 16}">'
                     "no stages in this run</text>")
    parts.append("</svg>")
    return Timeline(svg=mark_safe("".join(parts)), critical_path=tuple(path),  # escaped above
                    span_seconds=span)


@dataclass(frozen=True)
class Scale:
    """Maps moments to x coordinates on the plot."""

    origin: datetime
    seconds: float

    def x(self, moment: datetime) -> float:
        """Return the x coordinate of a moment."""
        offset = (moment - self.origin).total_seconds()
        return LABEL_WIDTH + PLOT_WIDTH * max(0.0, offset) / self.seconds


def _axis(step: float, axis_end: float, height: int) -> list[str]:
    parts = ['<g class="tl-axis">']
    ticks = round(axis_end / step)
    for index in range(ticks + 1):
        seconds = index * step
        x = LABEL_WIDTH + PLOT_WIDTH * seconds / axis_end
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{AXIS_HEIGHT - 4}" '
                     f'y2="{height - BOTTOM_PAD}"/>')
        parts.append(f'<text x="{x:.1f}" y="12" text-anchor="middle">{_seconds(seconds)}</text>')
    parts.append("</g>")
    return parts


def _row(stage: StageStatus, y: int, scale: Scale, *, now: datetime, on_path: bool) -> list[str]:
    name = escape(stage.name)
    mid = y + ROW_HEIGHT / 2
    top = mid - BAR_HEIGHT / 2
    state = escape(stage.state)
    parts = [
        f'<g class="tl-stage state-{state}{" tl-on-path" if on_path else ""}" '
        f'data-stage="{name}">',
        f'<text class="tl-label" x="{LABEL_WIDTH - 8}" y="{mid + 4:.1f}" text-anchor="end">'
        f'{name}{" *" if stage.critical else ""}</text>',
    ]
    title = f"{name}: {state}, {escape(stage_duration(stage))}"
    if stage.queued_at is not None:
        queue_end = stage.started_at or stage.finished_at or now
        waited = (queue_end - stage.queued_at).total_seconds()
        title += f", queued {_seconds(waited)}"
        parts.append(_rect("tl-queued", scale.x(stage.queued_at), scale.x(queue_end), top))
    if stage.started_at is not None:
        end = stage.finished_at or now
        kind = "tl-run" if stage.finished_at else "tl-run tl-open"
        parts.append(_rect(kind, scale.x(stage.started_at), scale.x(end), top))
    elif stage.finished_at is not None:
        # Ended without running (blocked, or broken): a mark where it was decided.
        x = scale.x(stage.finished_at)
        parts.append(f'<path class="tl-mark" d="M{x:.1f} {top:.1f} l5 7 l-5 7 l-5 -7 z"/>')
    parts.append(f"<title>{title}</title></g>")
    return parts


def _critical_path(path: list[str], status: RunStatus, rows: dict[str, int],
                   scale: Scale) -> list[str]:
    if not path:
        return []
    parts = [f'<g class="tl-critical-path" data-stages="{escape(" ".join(path))}">',
             f"<title>critical path to readiness: {escape(' → '.join(path))}</title>"]
    previous: tuple[float, float] | None = None
    for name in path:
        stage = status.stages[name]
        start = stage.started_at or stage.queued_at or stage.finished_at
        end = stage.finished_at
        if start is None or end is None:
            continue
        top = rows[name] + (ROW_HEIGHT - BAR_HEIGHT) / 2 - 2
        x1, x2 = scale.x(start), max(scale.x(end), scale.x(start) + 2)
        parts.append(f'<rect x="{x1 - 2:.1f}" y="{top:.1f}" width="{x2 - x1 + 4:.1f}" '
                     f'height="{BAR_HEIGHT + 4}" rx="3"/>')
        if previous is not None:
            parts.append(f'<line x1="{previous[0]:.1f}" y1="{previous[1]:.1f}" '
                         f'x2="{x1:.1f}" y2="{top + BAR_HEIGHT / 2 + 2:.1f}"/>')
        previous = (x2, top + BAR_HEIGHT / 2 + 2)
    parts.append("</g>")
    return parts


def _rect(kind: str, x1: float, x2: float, top: float) -> str:
    width = max(x2 - x1, 2.0)  # an instant still shows
    return (f'<rect class="{kind}" x="{x1:.1f}" y="{top:.1f}" width="{width:.1f}" '
            f'height="{BAR_HEIGHT}" rx="2"/>')


def _times(stage: StageStatus) -> list[datetime]:
    return [t for t in (stage.queued_at, stage.started_at, stage.finished_at) if t is not None]


def _end(stage: StageStatus) -> datetime:
    assert stage.finished_at is not None  # callers filter on it
    return stage.finished_at


def _seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    minutes, rest = divmod(seconds, 60)
    return f"{minutes:.0f} min {rest:.0f} s" if rest >= 1 else f"{minutes:.0f} min"

"""A run as a timeline: one bar per unit (an asset or a partition) from its start to its end.

Built from the records of a run (the last one recorded, local or remote alike) or from the live
progress of a run the TUI started; drawn as a Gantt chart so a user sees where the time went.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.text import Text
from workbench.tui import theme

from workbench.core.partitions import unit_id
from workbench.core.records import Materialization

QUEUED = "queued"
NAME_WIDTH = 24  # widest unit name column


@dataclass(frozen=True, slots=True)
class Bar:
    """One unit of a run: `start`/`end` in seconds from the run's start (`end` None: still running)."""

    unit: str
    state: str  # fresh, failed, running or queued
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True, slots=True)
class Timeline:
    """The bars of one run, in the order they started; `title` says which run."""

    title: str
    bars: tuple[Bar, ...]


def last_run(records: Iterable[Materialization | None]) -> Timeline | None:
    """The timeline of the run that recorded the newest of `records` (each asset's latest record)."""
    found = [r for r in records if r is not None]
    if not found:
        return None
    newest = max(found, key=lambda r: r.ended_at)
    runs = [r for r in found if r.run_id == newest.run_id]
    t0 = min(r.started_at for r in runs)
    bars = tuple(
        Bar(unit_id(r.asset_key, r.partition), "fresh" if r.ok else "failed",
            (r.started_at - t0).total_seconds(), (r.ended_at - t0).total_seconds())
        for r in sorted(runs, key=lambda r: (r.started_at, r.asset_key, r.partition))
    )
    when = t0.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return Timeline(f"last run {newest.run_id[:12]}  {newest.trigger}  {when}", bars)


def draw(timeline: Timeline, width: int, now: float = 0.0) -> Text:
    """The chart in `width` cells: name, state, bar on a shared time axis, duration.
    A running bar grows to `now` (seconds from the run's start)."""
    bars = timeline.bars
    names = min(max((len(b.unit) for b in bars), default=4), NAME_WIDTH)
    span = max([now, *(b.end or 0.0 for b in bars), *(b.start or 0.0 for b in bars)]) or 1.0
    track = max(width - names - 12, 8)
    text = Text(timeline.title, style="bold")
    text.append(f"  {_seconds(span)}\n", style="dim")
    for bar in bars:
        name = bar.unit if len(bar.unit) <= names else bar.unit[: names - 1] + "…"
        text.append(f"{name:<{names}} ")
        text.append(theme.glyph(bar.state) + " ", style=theme.INK.get(bar.state, "dim"))
        if bar.start is None:
            text.append(" " * track + "  queued", style="dim")
        else:
            end = now if bar.end is None else bar.end
            a = min(int(bar.start / span * track), track - 1)
            b = max(a + 1, min(round(end / span * track), track))
            text.append(" " * a)
            text.append("█" * (b - a), style=theme.INK.get(bar.state, ""))
            text.append(" " * (track - b))
            text.append(f" {_seconds(end - bar.start):>7}", style="dim")
        text.append("\n")
    text.rstrip()
    return text


def live(planned: Sequence[str], started: dict[str, float], finished: dict[str, tuple[float, str]]) -> Timeline:
    """The timeline of a run in progress: `started[unit]` and `finished[unit] = (end, state)` in
    seconds from the run's start; planned units not started yet are queued."""
    units = sorted(started, key=started.__getitem__) + [u for u in planned if u not in started]
    bars = []
    for unit in units:
        end, state = finished[unit] if unit in finished else (None, theme.RUNNING if unit in started else QUEUED)
        bars.append(Bar(unit, state, started.get(unit), end))
    return Timeline(f"running {len(finished)}/{len(planned)}", tuple(bars))


def _seconds(value: float) -> str:
    return f"{value:.2f}s" if value < 60 else f"{int(value // 60)}m{int(value % 60):02d}s"

"""An SVG bar chart drawn on the server: geometry only; the template writes the SVG."""

from __future__ import annotations

from dataclasses import dataclass

from notifier.notifications.lifecycle import Status

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 240, 40, 30, 10
ORDER = [status.value for status in Status]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    status: str
    count: int
    hour: str


def stacked_bars(hours: list[str], counts: dict[str, dict[str, int]]) -> dict:
    """One stacked bar per hour (a segment per status), scaled to the busiest hour."""
    peak = max((sum(by_status.values()) for by_status in counts.values()), default=0)
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(hours), 1)
    bars: list[Bar] = []
    for index, hour in enumerate(hours):
        base = HEIGHT - BOTTOM
        for status in ORDER:
            count = counts.get(hour, {}).get(status, 0)
            if not count:
                continue
            height = plot_height * count / peak
            base -= height
            x = LEFT + index * slot + slot * 0.1
            bars.append(
                Bar(
                    round(x, 1),
                    round(base, 1),
                    round(slot * 0.8, 1),
                    round(height, 1),
                    status,
                    count,
                    hour,
                )
            )
    labels = [
        {"x": round(LEFT + index * slot + slot / 2, 1), "text": hour[-2:] + "h"}
        for index, hour in enumerate(hours)
        if index % 3 == 0
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "axis_y": HEIGHT - BOTTOM,
        "top": TOP,
        "peak": peak,
        "bars": bars,
        "labels": labels,
        "statuses": ORDER,
    }

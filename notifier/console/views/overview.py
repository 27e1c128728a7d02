"""`/console`: the last 24 hours by status, a chart of them by hour, the queue's lag."""

from __future__ import annotations

from flask import render_template

from notifier.console import chart
from notifier.console.blueprint import bp, page
from notifier.notifications import activity

page("Overview", "overview")


@bp.route("")
def overview():
    """Counts by status for the last 24 hours, an SVG chart by hour, the queue's lag."""
    counts = activity.by_hour()
    lag = activity.queue_lag()
    return render_template(
        "console/overview.html",
        totals=counts["totals"],
        chart=chart.stacked_bars(counts["hours"], counts["counts"]),
        lag=lag,
    )

"""Charts over time for the console (inline SVG from matplotlib, as the fit report's plots): one line per
series, a marker per point, and events (promotions, rollbacks) as vertical lines on the same axis.

Each series is the SVG group ``series-<slug>`` holding one ``<use>`` per point, and each event the group
``event-<kind>-<n>``, so a page (or a browser test) can find them.

    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2026, 1, 1)
    >>> svg = timeline_chart(
    ...     [t0 + timedelta(hours=h) for h in range(3)],
    ...     {"served": [0.8, None, 0.9]},
    ...     events=[(t0 + timedelta(hours=1), "promote", "v2")],
    ...     ylabel="accuracy",
    ... )
    >>> points(svg, "served"), 'id="event-promote-0"' in svg
    (2, True)
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup

__all__ = ["EVENT_COLOURS", "points", "slug", "svg_of", "timeline_chart"]

#: the colour of each kind of event line (anything else is grey)
EVENT_COLOURS = {"promote": "#2e7d32", "rollback": "#c62828", "operator": "#6a1b9a"}


def slug(name: str) -> str:
    """A name as an SVG id part: lower case letters, digits and dashes.

    >>> slug("v12 in the shadow"), slug("p(UP)")
    ('v12-in-the-shadow', 'p-up')
    """
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "series"


def timeline_chart(
    times: Sequence[datetime],
    series: Mapping[str, Sequence[float | None]],
    *,
    events: Sequence[tuple[datetime, str, str]] = (),
    ylabel: str = "",
    width: float = 11.0,
    height: float = 3.4,
    hlines: Sequence[tuple[float, str]] = (),
) -> Markup:
    """An SVG line chart of ``series`` (name -> one value per time, ``None`` where there is none) over
    ``times``; ``events`` are (time, kind, label) drawn as vertical lines; ``hlines`` (value, label) as
    dashed horizontal guides (e.g. a drift threshold)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    for name, values in series.items():
        points = [(t, v) for t, v in zip(times, values, strict=True) if v is not None]
        if not points:
            continue
        xs, ys = zip(*points, strict=True)
        (line,) = ax.plot(xs, ys, marker="o", markersize=3.5, linewidth=1.4, label=name)
        line.set_gid(f"series-{slug(name)}")
    counts: dict[str, int] = {}
    for at, kind, label in events:
        n = counts[kind] = counts.get(kind, -1) + 1
        line = ax.axvline(
            mdates.date2num(at), color=EVENT_COLOURS.get(kind, "#757575"), linewidth=1.0, linestyle="--"
        )
        line.set_gid(f"event-{slug(kind)}-{n}")
        ax.annotate(
            label,
            (mdates.date2num(at), 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            rotation=90,
            va="top",
            ha="right",
            color=EVENT_COLOURS.get(kind, "#757575"),
        )
    for value, label in hlines:
        ax.axhline(value, color="#9e9e9e", linewidth=0.8, linestyle=":")
        ax.annotate(
            f" {label}",
            (1.0, value),
            xycoords=("axes fraction", "data"),
            fontsize=7,
            color="#757575",
            va="center",
        )
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.25)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    if series:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # beside the lines
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text as text: the markers are the only <use>
        return svg_of(fig)


def svg_of(fig: Any) -> Markup:
    """A matplotlib figure as inline SVG (closed after; no metadata)."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = re.sub(r"<metadata>.*?</metadata>", "", buf.getvalue(), flags=re.S)
    return Markup(text[text.index("<svg") :])


def points(svg: str, series: str) -> int:
    """How many points ``series`` has in a chart made by :func:`timeline_chart` (0 when it is absent)."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)
    for group in root.iter("{http://www.w3.org/2000/svg}g"):
        if group.get("id") == f"series-{slug(series)}":
            return sum(1 for _ in group.iter("{http://www.w3.org/2000/svg}use"))
    return 0

"""The HTML report of a fit, and the charts over time of the console."""

from lamarck.report._charts import points, slug, timeline_chart
from lamarck.report._html import ReportData, render_report

__all__ = ["ReportData", "points", "render_report", "slug", "timeline_chart"]

"""The HTML report of a fit, and the charts over time of the console."""

from lamarck.report._charts import slug, timeline_chart
from lamarck.report._html import ReportData, render_report

__all__ = ["ReportData", "render_report", "slug", "timeline_chart"]

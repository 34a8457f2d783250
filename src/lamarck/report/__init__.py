"""The HTML report of a fit."""

from lamarck.report._html import ReportData, render_report

__all__ = ["ReportData", "render_report"]

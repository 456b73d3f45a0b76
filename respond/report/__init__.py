"""Tables, figures and the HTML report of a run.

Figures (each returns a matplotlib Figure): :func:`waterfall`, :func:`spider`,
:func:`swimmer`, :func:`km_plot`, :func:`overlay`, :func:`contact_sheet`.
"""
from respond.report.html import SECTIONS, Section, build_report, write_report, write_workbook
from respond.report.overlays import contact_sheet, overlay
from respond.report.plots import RESPONSE_COLOURS, km_plot, save, spider, swimmer, waterfall

__all__ = ["RESPONSE_COLOURS", "SECTIONS", "Section", "build_report", "contact_sheet", "km_plot", "overlay", "save",
           "spider", "swimmer", "waterfall", "write_report", "write_workbook"]

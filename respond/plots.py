"""``respond.plots``: the figure functions, each returning a matplotlib Figure.

>>> import respond.plots
>>> fig = respond.plots.waterfall(result)        # doctest: +SKIP
"""
from respond.report.outcome_plots import forest, survival_plot
from respond.report.overlays import contact_sheet, overlay
from respond.report.plots import RESPONSE_COLOURS, km_plot, save, spider, swimmer, waterfall

__all__ = ["RESPONSE_COLOURS", "contact_sheet", "forest", "km_plot", "overlay", "save", "spider", "survival_plot",
           "swimmer", "waterfall"]

"""Building blocks of the report's HTML: escaped text, response badges, tables and embedded figures.

Shared by the report's sections (:mod:`respond.report.html`, :mod:`respond.report.outcomes`).
"""
from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path
from typing import Any, Final, Iterable

import pandas as pd
from matplotlib.figure import Figure

from respond.io.writers import atomic_write
from respond.report import plots
from respond.report.plots import RESPONSE_COLOURS
from respond.report.precision import format_value

#: File formats of the saved figures: charts also as SVG (for papers); pictures of scans as PNG only
#: (an SVG would only wrap the same raster).
CHART_FORMATS: Final = ("png", "svg")
PICTURE_FORMATS: Final = ("png",)
#: Resolution of the figures embedded in the page (pictures of scans are saved at this resolution too:
#: at 110 dpi an overlay cell has about 0.2 mm pixels, finer than any scan's voxels).
EMBED_DPI: Final = 110


_HEADERS: Final = {
    "days_from_baseline": "day", "target_sum_mm": "sum (mm)", "pct_change_from_baseline": "Δ baseline %",
    "pct_change_from_nadir": "Δ nadir %", "target_response": "targets", "non_target_response": "non-targets",
    "new_lesions": "new", "overall_response": "overall", "imaging_only": "imaging only",
    "best_overall_response": "best response", "best_response_date": "date of best", "progression_date": "progression",
    "lesion_id": "lesion", "longest_diameter_mm": "LD (mm)", "short_axis_mm": "SA (mm)", "volume_mm3": "volume (mm³)",
    "pct_ld_from_baseline": "Δ LD baseline %", "pct_ld_from_nadir": "Δ LD nadir %", "baseline_date": "baseline",
    "track_status": "tracking", "rotation_deg": "rotation (°)", "translation_mm": "translation (mm)",
    "metric_change": "metric (start → end)",
}


def _e(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.escape(str(value))


def _resp(value: Any) -> str:
    if not value:
        return ""
    colour = RESPONSE_COLOURS.get(str(value), "#DDDDDD")
    return f'<span class="resp" style="background:{colour}">{_e(value)}</span>'


def figure_html(fig: Figure, alt: str, *, save_as: Path | None = None,
                formats: tuple[str, ...] = CHART_FORMATS) -> str:
    """A figure as an embedded PNG (base64 data URI).

    With ``save_as`` (a path without suffix) it is also written there in each of ``formats``; a
    picture saved as PNG only is rendered once, and the file holds the embedded image.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=EMBED_DPI, bbox_inches="tight")
    if save_as is not None and tuple(formats) == ("png",):
        atomic_write(save_as.with_name(f"{save_as.name}.png"), lambda tmp: tmp.write_bytes(buffer.getvalue()))
    elif save_as is not None:
        plots.save(fig, save_as, formats=formats)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{data}"></figure>'


def _table(frame: pd.DataFrame, columns: Iterable[str], *, responses: Iterable[str] = (),
           classes: dict[str, str] | None = None) -> str:
    columns = [c for c in columns if c in frame.columns]
    responses = set(responses)
    classes = {c: "nowrap" for c in columns} | (classes or {})
    head = "".join(f"<th>{_e(_HEADERS.get(c, c))}</th>" for c in columns)
    body = []
    for row in frame[columns].itertuples(index=False):
        cells = []
        for c, v in zip(columns, row):
            text = _resp(v) if c in responses else _e(format_value(c, v))
            cells.append(f'<td class="{classes.get(c, "")}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _stem(folder: Path | None, name: str) -> Path | None:
    return None if folder is None else folder / re.sub(r"[^A-Za-z0-9._-]", "_", name)


"""Figures and the HTML report: their content comes from the data, and the report renders offline."""
from __future__ import annotations

import base64
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.colors import to_hex

import respond
import respond.plots
from respond.cli import main
from respond.measure import measure_mask
from respond.report.overlays import axial_view
from respond.report.plots import RESPONSE_COLOURS, best_change
from respond.testing.phantoms import SAGITTAL, ellipsoid

from conftest import READER_DEMO as DEMO




def test_waterfall_bars_are_the_best_change_coloured_by_best_response(reader_demo):
    result, _ = reader_demo
    fig = respond.plots.waterfall(result)
    assert len(fig.axes) == 2
    for ax, cid in zip(fig.axes, ["recist1.1", "rano-bm"]):
        expected = best_change(result.timepoints, cid).sort_values(ascending=False)
        heights = [p.get_height() for p in ax.patches]
        assert heights == pytest.approx(list(expected.values))
        assert [t.get_text() for t in ax.get_xticklabels()] == list(expected.index)
        bor = result.best_response[result.best_response.criteria == cid].set_index("patient_id").best_overall_response
        assert [to_hex(p.get_facecolor()) for p in ax.patches] == \
               [RESPONSE_COLOURS[bor[p]].lower() for p in expected.index]
        levels = sorted(line.get_ydata()[0] for line in ax.lines)
        assert levels == [-30.0, 0.0, 20.0]
    # worked values: DEMO-01 reaches −100 % (CR) under both; DEMO-02 best is −20 %
    assert best_change(result.timepoints, "recist1.1")["DEMO-01"] == -100.0
    assert best_change(result.timepoints, "rano-bm")["DEMO-02"] == -20.0


def test_spider_lines_follow_the_timepoints(reader_demo):
    result, _ = reader_demo
    fig = respond.plots.spider(result, "rano-bm", time_unit="days")
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.lines if not line.get_label().startswith("_")}
    assert set(lines) == {"DEMO-01", "DEMO-02", "DEMO-03", "DEMO-04", "DEMO-05", "DEMO-06"}
    x, y = lines["DEMO-01"].get_data()
    assert list(x) == [0, 63, 126, 189] and list(y) == pytest.approx([0, -44.44, -87.5, -100.0])


def test_swimmer_marks_progression_at_the_progression_date(reader_demo):
    result, _ = reader_demo
    patients = pd.read_csv(DEMO / "patients.csv", dtype=str)
    fig = respond.plots.swimmer(result, "recist1.1", patients=patients, time_unit="days")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert set(labels) == set(result.best_response.patient_id)
    crosses = [line for line in ax.lines if line.get_marker() == "X" and len(line.get_xdata()) == 1]
    y_of = {label: i for i, label in enumerate(labels)}
    got = {labels[int(c.get_ydata()[0])]: c.get_xdata()[0] for c in crosses}
    # DEMO-03: PD back-dated to 2024-03-18, treatment start 2024-01-17 → day 61
    assert got["DEMO-03"] == 61 and "DEMO-01" not in got
    assert y_of  # every patient has a row


def test_km_plot_draws_the_lifelines_estimate(reader_demo):
    result, _ = reader_demo
    fig = respond.plots.km_plot(result.events, "ipfs", time_unit="days")
    ax = fig.axes[0]
    fitter = respond.km(result.events, "ipfs", "recist1.1")
    curve = [line for line in ax.lines if line.get_label() == "RECIST 1.1"][0]
    x, y = curve.get_data()
    for t, s in zip(fitter.survival_function_.index, fitter.survival_function_.iloc[:, 0]):
        assert s in list(np.round(y, 12)) or any(math.isclose(s, v) for v in y)
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"RECIST 1.1", "RANO-BM"}


def test_overlay_view_of_a_sagittal_ellipsoid_shows_the_measured_lines(tmp_path):
    phantom = ellipsoid((12.0, 7.0, 9.0), spacing=(0.8, 1.0, 0.9), direction=SAGITTAL)
    row = measure_mask(phantom.mask).iloc[0].to_dict()
    image2d, mask2d, extent = axial_view(None, phantom.mask, row)
    pixel = (extent[1] - extent[0]) / mask2d.shape[1]
    area = mask2d.sum() * pixel**2
    # the axial section through the centre is an ellipse of semi-axes 12 and 7 mm
    assert area == pytest.approx(math.pi * 12 * 7, rel=0.08)
    fig = respond.plots.overlay(None, phantom.mask, row)
    ax = fig.axes[0]
    drawn = {round(math.dist(*zip(*[line.get_xdata(), line.get_ydata()])), 6) for line in ax.lines}
    assert round(row["longest_diameter_mm"], 6) in drawn and round(row["short_axis_mm"], 6) in drawn
    assert any("LD" in t.get_text() for t in ax.texts) and any("SA" in t.get_text() for t in ax.texts)


def test_report_is_self_contained_with_every_patient(reader_demo):
    _, out = reader_demo
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from anywhere
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) >= 6 and all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    for pid in ["DEMO-01", "DEMO-02", "DEMO-03", "DEMO-04", "DEMO-05", "DEMO-06"]:
        assert f'id="p-{pid}"' in page and f'href="#p-{pid}"' in page
    assert "steroid dose 8 mg/day &gt; baseline 2 mg/day" in page  # DEMO-04's rule trace
    for name in ("waterfall", "spider", "swimmer_rano-bm", "km_ipfs"):  # every figure also as PNG and SVG
        assert (out / "figures" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (out / "figures" / f"{name}.svg").read_text(encoding="utf-8")[:2000]
    sheets = pd.ExcelFile(out / "responses.xlsx").sheet_names
    assert sheets[:3] == ["best_response", "timepoints", "targets"] and "events" in sheets


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_report_renders_in_headless_chromium_with_every_image(reader_demo, tmp_path):
    _, out = reader_demo
    CliRunner().invoke(main, ["report", str(out)])
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    done = subprocess.run([CHROMIUM, *flags, "--virtual-time-budget=10000", "--dump-dom",
                           (out / "report.html").as_uri()], capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=120)
    loaded = re.search(r'data-images-loaded="(\d+)/(\d+)"', done.stdout)
    assert loaded, done.stderr[-2000:]
    assert int(loaded.group(1)) == int(loaded.group(2)) >= 6
    assert "Uncaught" not in done.stderr

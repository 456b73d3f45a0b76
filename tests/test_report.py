"""Figures and the HTML report: their content comes from the data, and the report renders offline."""
from __future__ import annotations

import base64
import math
import re
import shutil
import subprocess
import sys
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
from respond.testing.cohort import write_cohort
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
    view = axial_view(None, phantom.mask, row)
    mask2d, extent = view.mask, view.extent
    pixel = (extent[1] - extent[0]) / mask2d.shape[1]
    area = mask2d.sum() * pixel**2
    # the axial section through the centre is an ellipse of semi-axes 12 and 7 mm
    assert area == pytest.approx(math.pi * 12 * 7, rel=0.08)
    fig = respond.plots.overlay(None, phantom.mask, row)
    ax = fig.axes[0]
    drawn = {round(math.dist(*zip(*[line.get_xdata(), line.get_ydata()])), 6) for line in ax.lines
             if len(line.get_xdata()) == 2}
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


def _render_in_chromium(page: Path, profile: Path) -> subprocess.CompletedProcess:
    """The DOM of ``page`` after headless Chromium loaded it (scripts run, images decoded)."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([CHROMIUM, *flags, "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=180)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_report_renders_in_headless_chromium_with_every_image(reader_demo, tmp_path):
    _, out = reader_demo
    CliRunner().invoke(main, ["report", str(out)])
    done = _render_in_chromium(out / "report.html", tmp_path / "profile")
    loaded = re.search(r'data-images-loaded="(\d+)/(\d+)"', done.stdout)
    assert loaded, done.stderr[-2000:]
    assert int(loaded.group(1)) == int(loaded.group(2)) >= 6
    assert "Uncaught" not in done.stderr


@pytest.fixture(scope="module")
def imaging_run(tmp_path_factory):
    """Three generated patients (responder, stable, local progression) at 5 mm, assessed with the report."""
    folder = tmp_path_factory.mktemp("imaging")
    files = write_cohort(folder / "in", 3, spacing_mm=5.0, prefix="IMG")
    result = respond.assess(files.manifest, out=folder / "out", patients=files.patients, workers=2,
                            progress=False)
    assert result.n_failed == 0, result.failures.to_string()
    return result, folder / "out"


def _patient_sections(page: str) -> dict[str, str]:
    parts = page.split('<section class="patient">')[1:]
    return {re.search(r'id="p-([^"]+)"', part).group(1): part.split("</section>")[0] for part in parts}


def _assert_audit_sections(page: str, result) -> None:
    sections = _patient_sections(page)
    assert set(sections) == set(result.best_response.patient_id)
    for pid, section in sections.items():
        lesions = result.lesions[result.lesions.patient_id == pid]
        assert 'class="measurements"' in section, pid
        for lid in set(lesions.lesion_id):  # every lesion has its rows, LD at 0.1 mm
            ld = lesions[lesions.lesion_id == lid].longest_diameter_mm.iloc[0]
            assert f">{lid}</td>" in section and f">{ld:.1f}</td>" in section, (pid, lid)
        assert 'class="targets"' in section and "RECIST 1.1" in section and "RANO-BM" in section
        assert "selected by size" in section  # the reason of each choice
        assert 'class="registration"' in section and "rotation (°)" in section
        assert f'alt="registration checkerboard of patient {pid}"' in section
        assert 'class="warnings"' in section and 'class="overlays"' in section
    provenance = page[page.index('<details class="provenance"'):]
    assert "manifest" in provenance and re.search(r"[0-9a-f]{64}", provenance)
    assert result.run_info["criteria"][0]["sha256"] in provenance and "response population" in provenance


def test_the_imaging_report_has_the_audit_tables_per_patient(imaging_run):
    result, out = imaging_run
    _assert_audit_sections((out / "report.html").read_text(encoding="utf-8"), result)
    assert (out / "figures" / f"registration_{result.best_response.patient_id.iloc[0]}.png").is_file()


def test_write_report_accepts_an_assessment_object(imaging_run):
    result, out = imaging_run
    path = respond.report.write_report(result, out / "again.html")  # transforms resolved from the same folder
    _assert_audit_sections(path.read_text(encoding="utf-8"), result)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_the_imaging_report_renders_in_headless_chromium(imaging_run, tmp_path):
    result, out = imaging_run
    done = _render_in_chromium(out / "report.html", tmp_path / "profile")
    loaded = re.search(r'data-images-loaded="(\d+)/(\d+)"', done.stdout)
    assert loaded, done.stderr[-2000:]
    n_patients = result.best_response.patient_id.nunique()
    assert int(loaded.group(1)) == int(loaded.group(2)) >= 6 + 2 * n_patients  # overlays and checkerboards
    _assert_audit_sections(done.stdout, result)
    assert "Uncaught" not in done.stderr


# --- the report takes result objects; every plot takes ax=; no backend switch at import ---------------------------

def test_write_report_accepts_an_evaluation_object(reader_demo, tmp_path):
    result, _ = reader_demo
    path = respond.report.write_report(result, tmp_path / "out")
    assert path == tmp_path / "out" / "report.html"
    page = path.read_text(encoding="utf-8")
    for pid in sorted(set(result.best_response.patient_id)):
        assert f'id="p-{pid}"' in page
    assert "steroid dose 8 mg/day &gt; baseline 2 mg/day" in page
    assert 'id="provenance"' in page and result.criteria[0].sha256 in page
    assert pd.ExcelFile(tmp_path / "out" / "responses.xlsx").sheet_names[0] == "best_response"


def test_the_report_uses_the_tables_it_is_given(reader_demo, monkeypatch, tmp_path):
    result, _ = reader_demo
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: (_ for _ in ()).throw(AssertionError("read_csv called")))
    page = respond.report.build_report(result)
    assert "DEMO-01" in page


def test_every_plot_draws_into_the_axes_it_is_given(reader_demo):
    from matplotlib.figure import Figure

    result, _ = reader_demo
    fig = Figure()
    axes = fig.subplots(1, 2)
    assert respond.plots.waterfall(result, ["recist1.1", "rano-bm"], ax=axes) is fig
    assert len(axes[0].patches) == len(best_change(result.timepoints, "recist1.1"))
    single = Figure()
    ax = single.subplots()
    assert respond.plots.spider(result, "rano-bm", ax=ax) is single and len(ax.lines) > 6
    for draw in (lambda a: respond.plots.swimmer(result, "rano-bm", ax=a),
                 lambda a: respond.plots.km_plot(result.events, "ipfs", ax=a)):
        target = Figure().subplots()
        assert draw(target) is target.figure and (target.patches or target.lines)
    with pytest.raises(ValueError, match="one Axes per criteria"):
        respond.plots.waterfall(result, ["recist1.1", "rano-bm"], ax=ax)


def test_importing_the_figures_leaves_the_backend_alone():
    code = ("import matplotlib; matplotlib.use('pdf'); import respond.plots, respond.report; "
            "print(matplotlib.get_backend())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "pdf"


# --- responses.xlsx: text is never a formula; numbers at the measurement's precision --------------------------------

def test_formula_like_text_is_a_string_cell(tmp_path):
    from openpyxl import load_workbook

    from respond.report.workbook import write_workbook

    lesions = pd.DataFrame({"patient_id": ['=HYPERLINK("http://x","y")', "P2"], "lesion_id": ["=1+1", "-2"],
                            "longest_diameter_mm": [17.4928556845359, 12.04], "volume_mm3": [1234.56, 7.4],
                            "pct_change_from_baseline": [-31.25, 0.0], "organ": ["@brain", "\tbrain"]})
    write_workbook({"lesions": lesions}, tmp_path / "r.xlsx")
    sheet = load_workbook(tmp_path / "r.xlsx")["lesions"]
    cells = {sheet.cell(1, j).value: [sheet.cell(i, j) for i in (2, 3)] for j in range(1, 7)}
    assert [c.value for c in cells["patient_id"]] == ['\'=HYPERLINK("http://x","y")', "P2"]
    assert [c.value for c in cells["lesion_id"]] == ["'=1+1", "'-2"]
    assert [c.value for c in cells["organ"]] == ["'@brain", "'\tbrain"]
    for column in ("patient_id", "lesion_id", "organ"):
        assert all(c.data_type == "s" for c in cells[column])
    assert [c.value for c in cells["longest_diameter_mm"]] == [17.5, 12.0]  # 0.1 mm
    assert [c.value for c in cells["volume_mm3"]] == [1235, 7]  # 1 mm³
    assert [c.data_type for c in cells["volume_mm3"]] == ["n", "n"]
    assert [c.value for c in cells["pct_change_from_baseline"]] == [-31.2, 0.0]  # 0.1 %, numbers stay numbers


# --- figures: swimmer arrow inside the axes, legends match the marks, coinciding KM curves -----------------------

def test_swimmer_arrow_is_inside_the_axes_and_the_legend_matches_the_marks(reader_demo):
    result, _ = reader_demo
    patients = pd.read_csv(DEMO / "patients.csv", dtype=str, keep_default_na=False)
    fig = respond.plots.swimmer(result, "rano-bm", patients=patients, time_unit="days")
    ax = fig.axes[0]
    arrows = [a for a in ax.texts if getattr(a, "arrow_patch", None) is not None]
    assert arrows
    right = ax.get_xlim()[1]
    assert max(a.xy[0] for a in arrows) < right  # the head of the longest patient's arrow is not clipped
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    drawn_responses = {r for r in result.timepoints.query("criteria == 'rano-bm'").overall_response if r}
    has_cross = any(line.get_marker() == "X" for line in ax.lines)
    has_death = any(line.get_marker() == "d" for line in ax.lines)
    assert ("progression" in labels) == has_cross and ("death" in labels) == has_death
    assert "ongoing" in labels
    for response in RESPONSE_COLOURS:
        bars = [p for p in ax.patches if to_hex(p.get_facecolor()) == RESPONSE_COLOURS[response].lower()]
        assert (response in labels) == bool(bars), response
    assert set(labels) & set(RESPONSE_COLOURS) <= drawn_responses


def test_coinciding_kaplan_meier_curves_stay_visible():
    events = pd.DataFrame([{"patient_id": f"P{i}", "criteria": c, "endpoint": "ipfs", "lesion_id": None,
                            "time_days": 30.0 * (i + 1), "event": i % 2, "event_date": None, "pattern": None,
                            "censor_reason": None} for c in ("recist1.1", "rano-bm") for i in range(6)])
    ax = respond.plots.km_plot(events, "ipfs", at_risk=False).axes[0]
    curves = {line.get_label(): line for line in ax.lines if not line.get_label().startswith("_")}
    assert "RANO-BM (same curve as RECIST 1.1)" in curves
    assert curves["RECIST 1.1"].get_linestyle() != curves["RANO-BM (same curve as RECIST 1.1)"].get_linestyle()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["RECIST 1.1", "RANO-BM (same curve as RECIST 1.1)", "censored",
                      "95 % confidence band (curve's colour)"]


def test_the_rates_table_shows_one_interval_method(reader_demo):
    result, _ = reader_demo
    page = respond.report.build_report(result)
    summary = page[page.index('id="summary"'):page.index('id="figures"')]
    assert "jeffreys" not in summary.lower().replace("the jeffreys intervals are in responses.xlsx", "")
    assert "Clopper–Pearson" in summary


# --- overlays that show change ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def growing_lesion():
    """One lesion growing from 8 to 14 mm semi-axis over three scans (with head motion): scans, lesion rows, files."""
    import datetime as dt

    from respond.testing.series import Piece, ScanSpec, make_series

    day = dt.date(2024, 1, 10)
    specs = [ScanSpec(day + dt.timedelta(days=60 * i), {"A": (Piece((20.0, 10.0, 5.0), (r, 0.8 * r, r)),)},
                      rotation_deg=(0.0, 0.0, 3.0 * i), translation_mm=(2.0 * i, -1.0 * i, 0.0))
             for i, r in enumerate((8.0, 11.0, 14.0))]
    series = make_series(specs, extent_mm=(120.0, 120.0, 60.0), spacing_mm=(1.0, 1.0, 2.0))
    files, rows = {}, []
    for scan in series.scans:
        date = scan.date.isoformat()
        files[f"{date}_mask"], files[f"{date}_image"] = scan.mask, scan.image
        measured = measure_mask(scan.mask, scan.image, organ="brain", patient_id="P1", date=date)
        rows.append(measured.assign(lesion_id="A"))
    scans = pd.DataFrame({"date": [s.date.isoformat() for s in series.scans],
                          "mask": [f"{s.date.isoformat()}_mask" for s in series.scans],
                          "image": [f"{s.date.isoformat()}_image" for s in series.scans]})
    read = {"mask": files.__getitem__, "image": files.__getitem__}
    return scans, pd.concat(rows, ignore_index=True), read


def test_overlays_of_a_lesion_share_one_field_of_view_and_window_with_a_scale_bar(growing_lesion):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    scans, lesions, read = growing_lesion
    targets = pd.DataFrame({"patient_id": ["P1", "P1"], "criteria": ["recist1.1", "rano-bm"],
                            "lesion_id": ["A", "A"], "role": ["target", "non_target"]})
    fig = respond.plots.contact_sheet(scans, lesions, targets=targets, read=read)
    FigureCanvasAgg(fig).draw()
    axes = fig.axes
    assert len(axes) == 3
    lds = list(lesions["longest_diameter_mm"])
    assert lds[2] > 1.5 * lds[0]  # the lesion grows
    widths = {round(ax.get_xlim()[1] - ax.get_xlim()[0], 9) for ax in axes}
    heights = {round(abs(ax.get_ylim()[1] - ax.get_ylim()[0]), 9) for ax in axes}
    assert len(widths) == 1 and widths == heights  # one field of view for all dates
    assert widths.pop() == pytest.approx(max(40.0, 2.5 * max(lds)), abs=1.0)
    assert len({ax.images[0].get_clim() for ax in axes}) == 1  # one intensity window
    renderer = fig.canvas.get_renderer()
    for ax, (_, row) in zip(axes, lesions.iterrows()):
        bars = [a for a in ax.artists if isinstance(a, AnchoredSizeBar)]
        assert len(bars) == 1 and bars[0].get_gid() == "scale_bar"
        assert sorted(t.get_text() for t in ax.texts if t.get_gid() == "orientation") == ["A", "L", "P", "R"]
        assert any(t.get_text().startswith("z ") and "slice" in t.get_text() for t in ax.texts)
        boundary = [line for line in ax.lines if line.get_label() == "_boundary"]
        points = np.concatenate([line.get_xydata() for line in boundary])
        for end in ("ld_p1", "ld_p2", "sa_p1", "sa_p2"):  # calipers end on the drawn boundary (mesh vertices)
            p = np.array([row[f"{end}_x"], row[f"{end}_y"]])
            assert _distance_to_polylines(p, [line.get_xydata() for line in boundary]) < 1e-6
        # labels overlap neither each other nor the lesion
        boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text().strip()]
        lesion_box = ax.transData.transform(np.array([points.min(axis=0), points.max(axis=0)]))
        for i, a in enumerate(boxes):
            assert not any(a.overlaps(b) for b in boxes[i + 1:])
            lo, hi = lesion_box.min(axis=0), lesion_box.max(axis=0)
            assert a.x1 < lo[0] or a.x0 > hi[0] or a.y1 < lo[1] or a.y0 > hi[1]
    assert "RECIST 1.1: target" in axes[0].get_ylabel() and "RANO-BM: non-target" in axes[0].get_ylabel()


def _distance_to_polylines(p: np.ndarray, lines: list[np.ndarray]) -> float:
    best = math.inf
    for line in lines:
        a, b = line[:-1], line[1:]
        ab = b - a
        t = np.clip(((p - a) * ab).sum(axis=1) / np.maximum((ab * ab).sum(axis=1), 1e-12), 0, 1)
        best = min(best, float(np.min(np.linalg.norm(a + t[:, None] * ab - p, axis=1))))
    return best


def test_measurement_table_changes_from_baseline_and_nadir_hand_worked():
    from respond.report.audit import measurement_table

    lesions = pd.DataFrame({"lesion_id": ["A", "A", "A", "B"],
                            "date": ["2024-01-01", "2024-03-01", "2024-05-01", "2024-03-01"],
                            "longest_diameter_mm": [20.0, 10.0, 15.0, 8.0], "short_axis_mm": [12.0, 6.0, 9.0, 5.0],
                            "volume_mm3": [4000.0, 500.0, 1700.0, 200.0]})
    table = measurement_table(lesions).set_index(["lesion_id", "date"])
    a = table.loc["A"]
    assert list(a["pct_ld_from_baseline"].fillna(999)) == [999, -50.0, -25.0]  # (10-20)/20, (15-20)/20
    assert list(a["pct_ld_from_nadir"].fillna(999)) == [999, -50.0, 50.0]  # nadir 20 then 10: (15-10)/10
    b = table.loc["B"].iloc[0]
    assert math.isnan(b["pct_ld_from_baseline"]) and b["longest_diameter_mm"] == 8.0  # a new lesion has no baseline


def test_provenance_names_the_cutoff_the_inputs_and_the_versions():
    from respond.report.provenance import provenance_section

    info = {"respond_version": "9.9", "libraries": {"numpy": "1.0"}, "data_cutoff": "2024-12-31",
            "inputs": {"lesions": "in/lesions.csv sha256:" + "ab" * 32, "clinical": "<DataFrame>"},
            "criteria": [{"id": "rano-bm", "name": "RANO-BM", "sha256": "cd" * 32,
                          "config": {"endpoints": {"response_population": "assessed"}}}],
            "options": {"transform": "rigid"}}
    page = provenance_section(info, {})
    assert page.count("<details") == 1 and "<summary>" in page
    for text in ("2024-12-31", "in/lesions.csv", "ab" * 32, "cd" * 32, "assessed", "numpy 1.0", "matplotlib ",
                 "&quot;rigid&quot;", "(given as a DataFrame: no file)", "9.9"):
        assert text in page, text
    timepoints = pd.DataFrame({"date": ["2024-01-01", "2024-06-30"]})
    assert "latest date in the data is 2024-06-30" in provenance_section({"respond_version": "1"},
                                                                          {"timepoints": timepoints})

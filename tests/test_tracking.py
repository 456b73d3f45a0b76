"""Lesion tracking: the matcher on hand-made regions, and whole synthetic series against their truth."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st

import respond
from respond import track
from respond.tracking import Component, MatchLimits, Region, Tracker
from respond.measure import measure_mask
from respond.measure.instances import find_lesions
from respond.registration import RegistrationSettings, transform_error_mm
from respond.testing.series import default_series

sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(2)

#: Cheaper registration for tests about tracking logic, not registration accuracy (which use the defaults).
FAST = RegistrationSettings(samples_per_level=8000, level_spacings_mm=(12.0, 6.0))


# --------------------------------------------------------------------------- matcher on boxes


def box(label: str, lo, hi, centroid=None) -> Component:
    """A component whose region is the voxel box [lo, hi) of the baseline grid (1 mm voxels)."""
    lo, hi = np.asarray(lo), np.asarray(hi)
    c = (lo + hi - 1) / 2.0 if centroid is None else np.asarray(centroid, float)
    return Component(label, Region(lo, np.ones(tuple(hi - lo), bool), c.astype(float), float(np.prod(hi - lo))))


def big(component: Component, volume_mm3: float = 1000.0) -> Component:
    """The component with a native volume of ``volume_mm3`` (its size bounds a centroid match)."""
    component.region.weight = volume_mm3
    return component


def by_id(decisions):
    return {d.lesion_id: d for d in decisions}


def test_baseline_takes_fresh_ids_in_component_order():
    t = Tracker()
    d = by_id(t.update([box("1", (0, 0, 0), (5, 5, 5)), box("2", (20, 20, 20), (25, 25, 25))]))
    assert {k: (v.status, v.source_labels) for k, v in d.items()} == {"1": ("baseline", ("1",)),
                                                                      "2": ("baseline", ("2",))}


def test_match_new_disappear_and_reappear_keeps_the_id():
    t = Tracker()
    t.update([box("1", (0, 0, 0), (6, 6, 6)), box("2", (30, 30, 30), (36, 36, 36))])
    # Lesion 2 gone, a new one far away; lesion 1 shifted a little (component numbers change).
    d = by_id(t.update([box("1", (60, 0, 0), (64, 4, 4)), box("2", (1, 1, 1), (6, 6, 6))]))
    assert d["1"].status == "matched" and d["1"].source_labels == ("2",)
    assert d["2"].status == "disappeared" and d["2"].source_labels == ()
    assert d["3"].status == "new" and d["3"].source_labels == ("1",)
    # Lesion 2 reappears where it was last seen.
    d = by_id(t.update([box("1", (31, 31, 31), (35, 35, 35)), box("2", (1, 1, 1), (6, 6, 6))]))
    assert d["2"].status == "matched" and d["2"].source_labels == ("1",)
    assert d["3"].status == "disappeared"


def test_distance_is_the_fallback_without_overlap():
    # A 10 mm cube (equivalent-sphere diameter 12.4 mm); the follow-up is a 2 mm cube 5 mm beyond its
    # face (outside the 3 mm margin), centroid 10 mm away: within the lesion's own size → centroid match.
    t = Tracker(MatchLimits(max_distance_mm=10.0))
    t.update([box("1", (0, 0, 0), (10, 10, 10))])
    d = by_id(t.update([box("1", (14, 4, 4), (16, 6, 6))]))
    assert d["1"].status == "matched" and d["1"].overlap == (0.0,) and d["1"].distance_mm[0] == pytest.approx(10.0)
    assert d["1"].method == ("centroid",)
    t = Tracker(MatchLimits(max_distance_mm=5.0))
    t.update([box("1", (0, 0, 0), (10, 10, 10))])
    d = by_id(t.update([box("1", (14, 4, 4), (16, 6, 6))]))
    assert d["1"].status == "disappeared" and d["2"].status == "new"


def test_assignment_is_optimal_not_greedy():
    # Earlier lesions at x = 0 and x = 9 (centroids); now at x = 5 and x = 14. Greedy on the first
    # component (5 mm from both... nearest 0 → 5, 9 → 4) would take lesion 2 and leave lesion 1 unmatched
    # (14 mm > 10 mm away); the optimal assignment shifts both by 5 mm.
    # Lesions of 1 cm³ (equivalent diameter 12.4 mm), so a 5 mm centroid shift is within their size.
    t = Tracker(MatchLimits(max_distance_mm=10.0))
    t.update([big(box("1", (0, 0, 0), (1, 1, 1), (0, 0, 0))), big(box("2", (50, 0, 0), (51, 1, 1), (9, 0, 0)))])
    d = by_id(t.update([box("1", (70, 0, 0), (71, 1, 1), (5, 0, 0)), box("2", (90, 0, 0), (91, 1, 1), (14, 0, 0))]))
    assert d["1"].source_labels == ("1",) and d["2"].source_labels == ("2",)
    assert d["1"].status == d["2"].status == "matched"


def test_split_fragments_stay_under_the_earlier_id():
    t = Tracker()
    t.update([box("1", (0, 0, 0), (10, 6, 6))])
    d = by_id(t.update([box("1", (0, 0, 0), (4, 6, 6)), box("2", (6, 0, 0), (10, 6, 6))]))
    assert list(d) == ["1"]
    assert d["1"].status == "split" and d["1"].source_labels == ("1", "2")
    # Still split at the next scan: the footprint is now the union of the fragments.
    d = by_id(t.update([box("1", (0, 0, 0), (3, 5, 5)), box("2", (7, 0, 0), (10, 5, 5))]))
    assert d["1"].status == "split" and len(d["1"].source_labels) == 2


def test_merge_takes_the_first_id_and_zeroes_the_others():
    t = Tracker()
    t.update([box("1", (0, 0, 0), (4, 4, 4)), box("2", (6, 0, 0), (10, 4, 4))])
    d = by_id(t.update([box("1", (0, 0, 0), (10, 4, 4))]))
    assert d["1"].status == "merged" and d["1"].source_labels == ("1",)
    assert d["2"].status == "merged" and d["2"].source_labels == () and d["2"].absorbed_into == "1"
    assert d["2"].via == ("1",)


def test_merge_host_is_the_first_seen_even_when_the_assignment_prefers_the_other():
    t = Tracker()
    t.update([box("1", (0, 0, 0), (2, 2, 2)), box("2", (4, 0, 0), (12, 4, 4))])  # lesion 2 is the bigger one
    d = by_id(t.update([box("1", (0, 0, 0), (12, 4, 4))]))
    assert d["1"].source_labels == ("1",) and d["2"].absorbed_into == "1"


def test_links_force_and_unlinks_forbid():
    t = Tracker(reserved_ids={"7"})
    t.update([box("1", (0, 0, 0), (6, 6, 6))])
    # Unlink: the overlapping component is not lesion 1 → lesion 1 disappeared, the component is new
    # (and does not take the reserved id 7).
    d = by_id(t.update([box("1", (0, 0, 0), (6, 6, 6))], unlinks={("1", "1")}))
    assert d["1"].status == "disappeared" and d["2"].status == "new"
    # Link: a far component is forced to be lesion 1; another forced to the reader's new id 7.
    d = by_id(t.update([box("1", (50, 50, 50), (52, 52, 52)), box("2", (80, 0, 0), (82, 2, 2))],
                       links={"1": "1", "2": "7"}))
    assert d["1"].status == "matched" and d["1"].source_labels == ("1",)
    assert d["7"].status == "new"


def test_component_outside_the_baseline_field_of_view_matches_by_distance():
    t = Tracker()
    t.update([box("1", (0, 0, 0), (4, 4, 4))])
    empty = Component("1", Region(np.zeros(3, int), np.zeros((0, 0, 0), bool), np.array([2.5, 1.5, 1.5]), 10.0))
    d = by_id(t.update([empty]))
    assert d["1"].status == "matched" and d["1"].distance_mm[0] == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs", [{"margin_mm": -1.0}, {"margin_mm": math.nan}, {"max_distance_mm": -1}])
def test_match_limits_are_validated(kwargs):
    with pytest.raises(ValueError):
        MatchLimits(**kwargs)


# --------------------------------------------------------------------------- a synthetic series


@pytest.fixture(scope="module")
def series():
    return default_series(spacing_mm=3.0, anatomy_spacing_mm=2.0)


@pytest.fixture(scope="module")
def tracked(series, tmp_path_factory):
    folder = tmp_path_factory.mktemp("series")
    manifest = series.write(folder)
    return track(manifest, out=folder / "out"), folder


def _components(scan):
    """Component number → boolean mask (numpy order), numbered like respond.measure."""
    array = sitk.GetArrayViewFromImage(scan.mask)
    out = {}
    for inst in find_lesions(array):
        full = np.zeros(array.shape, bool)
        full[inst.bbox] = inst.mask
        out[inst.lesion_id] = full
    return out


def parent_ids(lesions: pd.DataFrame) -> pd.Series:
    """Each row's tracked lesion: ``fragment_of`` for a fragment, else ``lesion_id``."""
    return lesions["fragment_of"].where(lesions["fragment_of"].notna(), lesions["lesion_id"])


def test_every_lesion_keeps_its_true_identity_at_every_scan(series, tracked):
    result, _ = tracked
    assert result.failures.empty
    identity: dict[str, str] = {}  # tracked id → true id, fixed the first time the id is measured
    for n, scan in enumerate(series.scans):
        comps = _components(scan)
        rows = result.matches[result.matches.date == scan.date]
        measured = result.lesions[(result.lesions.date == scan.date) & (result.lesions.status == "present")]
        for row in rows.itertuples():
            if not row.source_label:
                continue
            truth = series.true_ids(n, comps[row.source_label])
            first = min(truth, key=series.lesion_ids.index)  # a merged component carries the first lesion's id
            if row.lesion_id in set(parent_ids(measured)):  # measured itself or through its fragments
                assert identity.setdefault(row.lesion_id, first) == first, (scan.date, row)
            else:  # absorbed by a merge: its true lesion is one of the component's others
                assert row.status == "merged" and identity[row.lesion_id] in truth - {first}, (scan.date, row)
        statuses = dict(zip(rows.lesion_id, rows.status))
        expected = {lid: scan.expected[true] for lid, true in identity.items() if true in scan.expected}
        assert {lid: statuses.get(lid) for lid in expected} == expected, scan.date
    # One tracked id per true lesion (A–F), none invented.
    assert sorted(identity.values()) == sorted(series.lesion_ids)
    assert len(identity) == parent_ids(result.lesions).nunique()


def test_recovered_transforms_are_within_1mm_at_the_lesions(series, tracked):
    result, _ = tracked
    points = np.array([p.center_mm for scan in series.scans for pieces in scan.spec.lesions.values() for p in pieces])
    for scan in series.scans[1:]:
        error = transform_error_mm(result.transforms[("P1", scan.date)], scan.transform, points)
        assert error.max() < 1.0, (scan.date, error.max())


def test_lesion_table_carries_native_diameters(series, tracked):
    result, _ = tracked
    lesions = result.lesions
    for n, scan in enumerate(series.scans):
        native = measure_mask(scan.mask).set_index("lesion_id")
        rows = lesions[lesions.date == scan.date]
        for row in rows.itertuples():
            labels = [s for s in str(row.source_labels).split("+") if s]
            if not labels:
                assert row.longest_diameter_mm == 0.0 and row.status == "absent" and row.volume_mm3 == 0.0
                continue
            assert row.status == "present"
            assert len(labels) == 1  # one row per component: a split lesion's fragments are rows of their own
            assert row.longest_diameter_mm == native.loc[labels[0], "longest_diameter_mm"]
            assert row.volume_mm3 == native.loc[labels[0], "volume_mm3"]
        # A row (or fragment rows) per known lesion.
        assert set(parent_ids(rows)) == set(parent_ids(lesions[lesions.date <= scan.date]))


def test_split_lesion_is_written_as_fragments_matching_the_analytic_size(series, tracked):
    # Contract of the lesion table (issue 13, fragments): a split lesion is one row per fragment with
    # fragment_of = the parent, and no row of the parent at that date; the sum is the criteria's rule.
    result, _ = tracked
    split = result.lesions[result.lesions.track_status == "split"]
    assert len(split) == 4 and split.fragment_of.notna().all()
    for (date, parent), fragments in split.groupby(["date", "fragment_of"]):
        assert sorted(fragments.lesion_id) == [f"{parent}.1", f"{parent}.2"]
        assert not ((result.lesions.date == date) & (result.lesions.lesion_id == parent)).any()
        # Two spheres of radius 6 mm: each longest diameter is 12 mm within a voxel (3 mm).
        for ld in fragments.longest_diameter_mm:
            assert abs(ld - 12.0) <= 3.0
    merged = result.lesions[result.lesions.merged_into.notna()]
    assert len(merged) == 2 and (merged.longest_diameter_mm == 0).all()
    assert (merged.track_status == "merged").all()


def test_sagittal_scan_is_measured_on_an_axial_reformat(series, tracked):
    result, _ = tracked
    sagittal = series.scans[2].date
    rows = result.lesions[(result.lesions.date == sagittal) & (result.lesions.status == "present")]
    assert rows.reformatted.astype(bool).all()


def test_outputs_are_written_and_evaluate_reads_the_lesion_table(tracked, tmp_path):
    _, folder = tracked
    out = folder / "out"
    for name in ("lesions.csv", "matches.csv", "registrations.csv", "failures.csv"):
        assert (out / name).is_file()
    matches = pd.read_csv(out / "matches.csv", dtype=str, keep_default_na=False)
    assert list(matches.columns) == ["patient_id", "date", "lesion_id", "source_label", "status", "overlap",
                                     "distance_mm", "method"]
    registrations = pd.read_csv(out / "registrations.csv")
    follow = registrations[registrations.method == "image"]
    assert len(follow) == 3 and follow.plausible.all()
    for file in follow.transform_file:
        transform = sitk.ReadTransform(str(out / file))
        assert transform.GetDimension() == 3
    evaluation = respond.evaluate(out / "lesions.csv", criteria=["recist1.1"])
    assert evaluation.failures.empty
    assert len(evaluation.timepoints) == 4


def test_labels_mode_uses_the_label_values_as_ids(series, tmp_path):
    rows = []
    for scan in series.scans[:2]:
        path = tmp_path / f"{scan.date}_labels.nrrd"
        sitk.WriteImage(scan.truth, str(path))  # truth labels: 1..6 = A..F
        rows.append({"patient_id": "L1", "date": scan.date.isoformat(), "mask": path.name, "organ": "brain"})
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    result = track(tmp_path / "m.csv", lesions="labels")
    assert result.failures.empty
    follow = result.matches[result.matches.date == series.scans[1].date].set_index("lesion_id")
    assert follow.loc["2", "status"] == "disappeared"  # B
    assert follow.loc["6", "status"] == "new"  # F
    assert follow.loc["1", "status"] == "matched" and math.isnan(follow.loc["1", "overlap"])
    assert set(result.registrations.method) == {"baseline", "none"}


def test_a_bad_patient_does_not_stop_the_others(series, tmp_path):
    manifest = series.write(tmp_path)
    frame = pd.read_csv(manifest)
    good = frame[frame.date.isin([series.scans[0].date.isoformat(), series.scans[1].date.isoformat()])]
    bad = good.assign(patient_id="P2")
    (tmp_path / "broken_mask.nii.gz").write_bytes(b"")
    bad.loc[bad.index[0], "mask"] = "broken_mask.nii.gz"
    pd.concat([good, bad]).to_csv(tmp_path / "two.csv", index=False)
    result = track(tmp_path / "two.csv", settings=FAST)
    assert set(result.lesions.patient_id) == {"P1"}
    failure = result.failures.iloc[0]
    assert failure.patient_id == "P2" and failure.stage == "read" and "broken_mask" in failure.message


def test_implausible_registration_is_reported_not_used(series, tmp_path):
    manifest = series.write(tmp_path)
    frame = pd.read_csv(manifest)
    two = frame[frame.date.isin([series.scans[0].date.isoformat(), series.scans[1].date.isoformat()])]
    two.to_csv(tmp_path / "two.csv", index=False)
    strict = dataclasses.replace(FAST, max_rotation_deg=2.0)
    result = track(tmp_path / "two.csv", settings=strict)
    assert result.lesions.empty
    failure = result.failures.iloc[0]
    assert failure.stage == "register" and failure.error_code == "registration.implausible"
    assert "rotation" in failure.message
    flagged = result.registrations[result.registrations.method == "image"].iloc[0]
    assert not flagged.plausible and "exceeds 2°" in flagged.problems
    used = track(tmp_path / "two.csv", settings=strict, allow_implausible=True)
    assert used.failures.empty and not used.registrations.plausible.all()


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), shift=st.tuples(*(st.integers(-2, 2),) * 3), seed=st.integers(0, 10_000),
       drop=st.sets(st.integers(0, 5), max_size=2))
def test_identity_survives_small_motion_reordering_and_disappearance(n, shift, seed, drop):
    """Lesions on a 20-voxel lattice, moved by ≤ 2 voxels and listed in any order, keep their ids;
    dropped ones are 'disappeared' and come back under their own id."""
    rng = np.random.default_rng(seed)
    corners = [np.array([20 * k, 0, 0]) for k in range(n)]
    sizes = [rng.integers(3, 8, size=3) for _ in range(n)]
    t = Tracker()
    base = t.update([box(str(k + 1), c, c + s) for k, (c, s) in enumerate(zip(corners, sizes))])
    assert [d.lesion_id for d in base] == [str(k + 1) for k in range(n)]
    order = rng.permutation(n)
    present = [k for k in order if k not in drop]
    comps = [box(f"c{k}", corners[k] + shift, corners[k] + shift + sizes[k]) for k in present]
    d = by_id(t.update(comps))
    for k in range(n):
        if k in drop:
            assert d[str(k + 1)].status == "disappeared"
        else:
            assert d[str(k + 1)].status == "matched" and d[str(k + 1)].source_labels == (f"c{k}",)
    assert len(d) == n  # nothing new, nothing lost
    back = by_id(t.update([box(f"r{k}", corners[k], corners[k] + sizes[k]) for k in range(n)]))
    assert all(back[str(k + 1)].source_labels == (f"r{k}",) for k in range(n))

"""Many-to-many tracking: split, coalescing, shrinking and vanishing lesions (issue 12.3).

* the matcher's rules on hand-made footprints (1 mm voxels);
* a property: a lesion with follow-up foreground within the margin of its footprint is never `disappeared`;
* synthetic follow-ups built from a real brain MR (pyradiomics brain1, skipped when the shared data
  folder is absent) under known rigid motion: every lesion gets the right status at every scan.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from conftest import SHARED_DATA
from respond import track
from respond.measure.instances import find_lesions
from respond.testing.series import rigid_transform
from respond.tracking import Component, MatchLimits, Region, Tracker
from respond.tracking.matcher import MATCH_MARGIN_MM

sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(2)


def box(label: str, lo, hi) -> Component:
    """A component whose region is the voxel box [lo, hi) of a 1 mm baseline grid."""
    lo, hi = np.asarray(lo), np.asarray(hi)
    return Component(label, Region(lo, np.ones(tuple(hi - lo), bool), (lo + hi - 1) / 2.0, float(np.prod(hi - lo))))


def by_id(decisions):
    return {d.lesion_id: d for d in decisions}


# --------------------------------------------------------------------------- rules


def test_foreground_within_the_margin_is_not_a_disappearance():
    t = Tracker()
    t.update([box("1", (10, 10, 10), (20, 20, 20))])
    # 3 voxels (3 mm = the margin) beyond the face: still that lesion, by overlap of the dilated footprint.
    d = by_id(t.update([box("1", (22, 14, 14), (24, 16, 16))]))
    assert d["1"].status == "matched" and d["1"].method == ("overlap",)
    # 9 voxels beyond the face, centroid 14 mm from the lesion's (size 12.4 mm): disappeared, and new.
    t = Tracker()
    t.update([box("1", (10, 10, 10), (20, 20, 20))])
    d = by_id(t.update([box("1", (28, 14, 14), (30, 16, 16))]))
    assert d["1"].status == "disappeared" and d["2"].status == "new"


def test_margin_is_a_stated_option():
    assert MATCH_MARGIN_MM == 3.0 and MatchLimits().margin_mm == MATCH_MARGIN_MM
    t = Tracker(MatchLimits(margin_mm=1.0, max_distance_mm=0.0))
    t.update([box("1", (10, 10, 10), (20, 20, 20))])
    d = by_id(t.update([box("1", (22, 14, 14), (24, 16, 16))]))
    assert d["1"].status == "disappeared"


def test_margin_follows_the_voxel_spacing():
    # 3 mm slices: one slice beyond the face is 3 mm away (within the margin), two are 6 mm (beyond).
    t = Tracker(spacing_mm=(3.0, 1.0, 1.0))
    t.update([box("1", (10, 10, 10), (14, 20, 20))])
    assert by_id(t.update([box("1", (14, 12, 12), (15, 18, 18))]))["1"].status == "matched"
    t = Tracker(spacing_mm=(3.0, 1.0, 1.0), limits=MatchLimits(max_distance_mm=0.0))
    t.update([box("1", (10, 10, 10), (14, 20, 20))])
    assert by_id(t.update([box("1", (15, 12, 12), (16, 18, 18))]))["1"].status == "disappeared"


def test_two_lesions_on_one_component_are_merged_never_matched_and_disappeared():
    t = Tracker()
    t.update([box("1", (0, 0, 0), (6, 6, 6)), box("2", (0, 0, 10), (4, 4, 14))])  # a big and a small one
    # The coalesced component covers the big one and only touches the small one's margin.
    d = by_id(t.update([box("1", (0, 0, 0), (6, 6, 8))]))
    assert d["1"].status == "merged" and d["1"].source_labels == ("1",)
    assert d["2"].status == "merged" and d["2"].absorbed_into == "1" and d["2"].source_labels == ()


def test_one_lesion_on_several_components_is_split():
    t = Tracker()
    t.update([box("1", (0, 0, 0), (6, 6, 12))])
    d = by_id(t.update([box("1", (0, 0, 0), (6, 6, 5)), box("2", (0, 0, 6), (6, 6, 9)), box("3", (0, 0, 10), (6, 6, 12))]))
    assert list(d) == ["1"] and d["1"].status == "split" and d["1"].source_labels == ("1", "2", "3")


def test_neighbours_that_touch_each_others_margin_stay_separate():
    # Two lesions 4 voxels apart each grow by 1 voxel towards the other: each component is within the other
    # lesion's margin, but each lesion keeps its own component (no false merge, no false split).
    t = Tracker()
    t.update([box("1", (0, 0, 0), (6, 6, 6)), box("2", (0, 0, 9), (6, 6, 15))])
    d = by_id(t.update([box("1", (0, 0, 0), (6, 6, 7)), box("2", (0, 0, 8), (6, 6, 15))]))
    assert d["1"].status == d["2"].status == "matched"
    assert d["1"].source_labels == ("1",) and d["2"].source_labels == ("2",)


def test_centroid_fallback_never_takes_a_component_that_overlaps_another_lesion():
    # Lesion 2 vanished; the only component overlaps lesion 1, and its centroid is 14.3 mm from lesion 2's,
    # within lesion 2's size (14.9 mm): it stays lesion 1's, and lesion 2 disappeared.
    t = Tracker()
    t.update([box("1", (0, 0, 0), (8, 8, 8)), box("2", (0, 0, 12), (12, 12, 24))])
    d = by_id(t.update([box("1", (0, 0, 0), (8, 8, 8))]))
    assert d["1"].status == "matched" and d["2"].status == "disappeared"


def test_centroid_fallback_is_bounded_by_the_lesions_own_size_and_flagged():
    empty = Component("1", Region(np.zeros(3, int), np.zeros((0, 0, 0), bool), np.array([4.5, 4.5, 14.0]), 27.0))
    t = Tracker()  # a 10 mm cube (size 12.4 mm): a component 9.5 mm away, outside the field of view
    t.update([box("1", (0, 0, 0), (10, 10, 10))])
    d = by_id(t.update([empty]))
    assert d["1"].status == "matched" and d["1"].method == ("centroid",)
    t = Tracker()  # a 3 mm cube (size 3.7 mm): the same distance (9.5 mm) is beyond its size
    t.update([box("1", (3, 3, 3), (6, 6, 6))])
    d = by_id(t.update([empty]))
    assert d["1"].status == "disappeared" and d["2"].status == "new"


# --------------------------------------------------------------------------- property


@st.composite
def follow_up_cases(draw):
    """Baseline boxes on a 40³ grid and a follow-up drawing, per lesion, nothing or a shifted, shrunk, cut piece."""
    n = draw(st.integers(1, 5))
    boxes = []
    for _ in range(n):
        lo = np.array([draw(st.integers(2, 30)) for _ in range(3)])
        size = np.array([draw(st.integers(2, 8)) for _ in range(3)])
        boxes.append((lo, np.minimum(lo + size, 38)))
    pieces = []
    for lo, hi in boxes:
        if not draw(st.booleans()):
            continue  # vanished
        sub_lo = np.array([draw(st.integers(int(a), int(b) - 1)) for a, b in zip(lo, hi)])
        sub_hi = np.array([draw(st.integers(int(a) + 1, int(b))) for a, b in zip(sub_lo, hi)])
        shift = np.array([draw(st.integers(-2, 2)) for _ in range(3)])  # registration error, ≤ 2 voxels
        piece_lo, piece_hi = np.clip(sub_lo + shift, 0, 40), np.clip(sub_hi + shift, 0, 40)
        cut = draw(st.booleans()) and piece_hi[2] - piece_lo[2] >= 3
        pieces.append((piece_lo, piece_hi, cut))
    return boxes, pieces


def _grid_components(array: np.ndarray) -> list[Component]:
    out = []
    for inst in find_lesions(array.astype(np.uint8)):
        lo = np.array([s.start for s in inst.bbox])
        centroid = lo + np.array(ndimage.center_of_mass(inst.mask))
        out.append(Component(inst.lesion_id, Region(lo, inst.mask, centroid, float(inst.voxel_count))))
    return out


@settings(max_examples=60, deadline=None)
@given(case=follow_up_cases())
def test_no_lesion_with_foreground_within_the_margin_is_ever_disappeared(case):
    boxes, pieces = case
    baseline = np.zeros((40, 40, 40), bool)
    for lo, hi in boxes:
        baseline[tuple(slice(a, b) for a, b in zip(lo, hi))] = True
    follow = np.zeros_like(baseline)
    for lo, hi, cut in pieces:
        view = follow[tuple(slice(a, b) for a, b in zip(lo, hi))]
        view[...] = True
        if cut:  # a split: a one-voxel gap across the piece
            view[:, :, view.shape[2] // 2] = False
    t = Tracker()
    lesions = _grid_components(baseline)
    t.update(lesions)
    decisions = by_id(t.update(_grid_components(follow)))
    for lesion in lesions:
        footprint = np.zeros_like(baseline)
        lo = lesion.region.offset
        footprint[tuple(slice(a, a + n) for a, n in zip(lo, lesion.region.mask.shape))] = lesion.region.mask
        distance = ndimage.distance_transform_edt(~footprint)
        nearby = bool((follow & (distance <= MATCH_MARGIN_MM)).any())
        status = decisions[lesion.source_label].status
        if nearby:
            assert status != "disappeared", (lesion.source_label, decisions)
        if status == "disappeared":
            assert not nearby


# --------------------------------------------------------------------------- synthetic follow-ups of a real brain MR


#: Lesions added to brain1's two real ones: centre (i, j, k index of the baseline grid) and radius, mm.
SPHERES = {"C": ((90, 100, 12), 9.0), "D": ((90, 170, 14), 7.0), "E": ((130, 60, 10), 7.0)}
#: Expected status of each lesion at each follow-up (A and B are brain1's lesions, A the first in raster order).
EXPECTED = {"A": "merged", "B": "merged", "C": "split", "D": "matched", "E": "disappeared"}


def _physical(image: sitk.Image) -> np.ndarray:
    """Physical points (LPS mm) of every voxel centre, shape (k, j, i, 3)."""
    k, j, i = np.meshgrid(*(np.arange(n) for n in image.GetSize()[::-1]), indexing="ij")
    index = np.stack([i, j, k], axis=-1).astype(float)
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    return np.asarray(image.GetOrigin()) + (index * np.asarray(image.GetSpacing())) @ direction.T


def _in_baseline(points: np.ndarray, truth: sitk.Euler3DTransform) -> np.ndarray:
    """Follow-up points → baseline points (``truth`` maps baseline p ↦ R (p − c) + c + t)."""
    rotation = np.asarray(truth.GetMatrix()).reshape(3, 3)
    centre, translation = np.asarray(truth.GetCenter()), np.asarray(truth.GetTranslation())
    return (points - centre - translation) @ rotation + centre  # R^T (q − c − t) + c, row vectors


def _capsule(points: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    ab = b - a
    t = np.clip(((points - a) @ ab) / (ab @ ab), 0.0, 1.0)
    return np.linalg.norm(points - (a + t[..., None] * ab), axis=-1) <= radius


def _follow_up(image, mask, centres, truth, gap_voxels, folder, name):
    """The follow-up scan after ``truth``: A and B bridged, C cut by a gap, D a 4-voxel remnant, E gone."""
    follow_image = sitk.Resample(image, image, truth.GetInverse(), sitk.sitkLinear, 0.0, image.GetPixelID())
    real = sitk.GetArrayFromImage(sitk.Resample(mask, image, truth.GetInverse(), sitk.sitkNearestNeighbor, 0,
                                                sitk.sitkUInt8)) > 0
    base_points = _in_baseline(_physical(image), truth)
    label = real | _capsule(base_points, centres["A"], centres["B"], 4.0)
    c_centre, c_radius = centres["C"], SPHERES["C"][1]
    c_mask = np.linalg.norm(base_points - c_centre, axis=-1) <= c_radius
    moved_c = np.array(image.TransformPhysicalPointToIndex(truth.TransformPoint(tuple(c_centre))))
    c_mask[:, :, moved_c[0]:moved_c[0] + gap_voxels] = False  # the gap, in the follow-up's own voxels
    label |= c_mask
    d_index = np.array(image.TransformPhysicalPointToIndex(truth.TransformPoint(tuple(centres["D"]))))
    label[d_index[2], d_index[1]:d_index[1] + 2, d_index[0]:d_index[0] + 2] = True  # 4 voxels
    follow_mask = sitk.GetImageFromArray(label.astype(np.uint8))
    follow_mask.CopyInformation(image)
    sitk.WriteImage(follow_image, str(folder / f"{name}_image.nrrd"))
    sitk.WriteImage(follow_mask, str(folder / f"{name}_mask.nrrd"))
    return label


@pytest.fixture(scope="module")
def brain1_fragments(tmp_path_factory):
    if not SHARED_DATA.is_dir():
        pytest.skip("shared pyradiomics data not available")
    image = sitk.ReadImage(str(SHARED_DATA / "brain1_image.nrrd"))
    real = sitk.Cast(sitk.ReadImage(str(SHARED_DATA / "brain1_label.nrrd")) > 0, sitk.sitkUInt8)
    folder = tmp_path_factory.mktemp("brain1_fragments")
    real_array = sitk.GetArrayFromImage(real) > 0
    numbered, _ = ndimage.label(real_array, np.ones((3, 3, 3)))
    centres = {}
    for name, n in (("A", 1), ("B", 2)):  # raster order: A (slices 11-12) comes before B (slices 12-17)
        k, j, i = ndimage.center_of_mass(numbered == n)
        centres[name] = np.asarray(image.TransformContinuousIndexToPhysicalPoint((i, j, k)))
    points = _physical(image)
    baseline = real_array.copy()
    for name, (index, radius) in SPHERES.items():
        centres[name] = np.asarray(image.TransformIndexToPhysicalPoint(index))
        baseline |= np.linalg.norm(points - centres[name], axis=-1) <= radius
    baseline_mask = sitk.GetImageFromArray(baseline.astype(np.uint8))
    baseline_mask.CopyInformation(image)
    sitk.WriteImage(baseline_mask, str(folder / "baseline_mask.nrrd"))
    sitk.WriteImage(image, str(folder / "baseline_image.nrrd"))
    size = np.asarray(image.GetSize(), float)
    centre = image.TransformContinuousIndexToPhysicalPoint(tuple((size - 1) / 2))
    motions = [rigid_transform((2.0, 0.0, 6.0), (8.0, -6.0, 3.0), centre),
               rigid_transform((-1.5, 1.0, -4.0), (-5.0, 7.0, -2.0), centre)]
    follow_ups = [_follow_up(image, real, centres, truth, gap, folder, f"fu{n}")
                  for n, (truth, gap) in enumerate(zip(motions, (1, 2)), start=1)]
    rows = [{"patient_id": "brain1", "date": "2024-01-02", "mask": "baseline_mask.nrrd", "image": "baseline_image.nrrd"},
            {"patient_id": "brain1", "date": "2024-03-01", "mask": "fu1_mask.nrrd", "image": "fu1_image.nrrd"},
            {"patient_id": "brain1", "date": "2024-05-01", "mask": "fu2_mask.nrrd", "image": "fu2_image.nrrd"}]
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder, baseline, follow_ups, centres


def test_brain1_follow_ups_are_built_as_intended(brain1_fragments):
    _, baseline, follow_ups, _ = brain1_fragments
    assert len(find_lesions(baseline.astype(np.uint8))) == 5  # A, B, C, D, E
    for follow in follow_ups:
        sizes = sorted(inst.voxel_count for inst in find_lesions(follow.astype(np.uint8)))
        assert len(sizes) == 4 and sizes[0] == 4  # A+B, two pieces of C, D's 4 voxels; E gone


def test_brain1_every_lesion_gets_the_right_status_at_every_scan(brain1_fragments, tmp_path):
    folder, baseline, _, centres = brain1_fragments
    result = track(folder / "manifest.csv", organ="brain", out=tmp_path / "out")
    assert result.failures.empty, result.failures.message.tolist()
    assert result.registrations.plausible.all()
    base = result.lesions[result.lesions.date.astype(str) == "2024-01-02"]
    ids = {}  # true name → tracked id: the baseline lesion whose centroid is nearest the true centre
    for name, point in centres.items():
        distance = np.linalg.norm(base[["centroid_x", "centroid_y", "centroid_z"]].to_numpy(float) - point, axis=1)
        ids[name] = base.lesion_id.iloc[int(np.argmin(distance))]
    assert len(set(ids.values())) == 5
    for date in ("2024-03-01", "2024-05-01"):
        matches = result.matches[result.matches.date.astype(str) == date]
        status = matches.groupby("lesion_id").status.agg(set).to_dict()
        assert {name: status.get(ids[name]) for name in EXPECTED} == {n: {s} for n, s in EXPECTED.items()}, date
        assert set(matches.lesion_id) == set(ids.values())  # nothing new
        rows = result.lesions[result.lesions.date.astype(str) == date].set_index("lesion_id")
        # A carries the coalesced measurement (both lesions' voxels and the bridge); B is merged into it.
        assert rows.loc[ids["A"], "voxel_count"] > 0.9 * base.set_index("lesion_id").loc[
            [ids["A"], ids["B"]], "voxel_count"].sum()
        assert rows.loc[ids["A"], "status"] == "present"
        assert rows.loc[ids["B"], "longest_diameter_mm"] == 0 and rows.loc[ids["B"], "merged_into"] == ids["A"]
        # C is written as two fragments, each about half the sphere, and no row of its own.
        fragments = rows[rows.fragment_of == ids["C"]]
        assert sorted(fragments.index) == [f"{ids['C']}.1", f"{ids['C']}.2"] and ids["C"] not in rows.index
        assert (fragments.longest_diameter_mm > 8).all() and (fragments.longest_diameter_mm <= 18 + 2 * 0.79).all()
        # D is a 4-voxel remnant (2 × 2 voxels of 0.78 mm), still D; E truly vanished.
        assert rows.loc[ids["D"], "voxel_count"] == 4 and rows.loc[ids["D"], "status"] == "present"
        assert rows.loc[ids["E"], "longest_diameter_mm"] == 0 and pd.isna(rows.loc[ids["E"], "merged_into"])
        methods = set(matches.method.dropna()) - {""}
        assert methods == {"overlap"}


def test_a_merge_whose_carrier_is_in_pieces_names_the_fragment_row():
    from respond.tracking.series import merged_into

    # Lesions 1 and 2 coalesce into component "1"; lesion 1 also leaves a separate piece "2".
    t = Tracker()
    t.update([box("1", (0, 0, 0), (6, 6, 6)), box("2", (0, 0, 10), (6, 6, 16))])
    decisions = t.update([box("1", (0, 0, 3), (6, 6, 14)), box("2", (8, 0, 0), (10, 2, 2))])
    d = by_id(decisions)
    assert d["1"].status == "merged" and d["1"].source_labels == ("1", "2")
    assert d["2"].status == "merged" and d["2"].absorbed_into == "1"
    # The carrier is written as fragments 1.1 (the coalesced component) and 1.2: lesion 2 merged into 1.1.
    assert merged_into(d["2"], d) == "1.1"
    assert merged_into(d["1"], d) is None

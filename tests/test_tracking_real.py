"""A follow-up built from a real brain MR (pyradiomics brain1): known rigid motion, lesions shrunk.

Skips when the shared data folder is absent. Nothing is copied into the
repository: the follow-up is generated into the test's temporary folder.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from respond import track
from respond.measure import measure_mask
from respond.registration import transform_error_mm
from respond.testing.series import rigid_transform

sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(2)

#: brain1 has 6.5 mm slices: the recovered motion is checked to 2 mm at the lesions (a third of a slice).
MAX_ERROR_MM = 2.0


@pytest.fixture
def brain1_series(shared_data, tmp_path_factory):
    image_path, mask_path = shared_data / "brain1_image.nrrd", shared_data / "brain1_label.nrrd"
    image, mask = sitk.ReadImage(str(image_path)), sitk.ReadImage(str(mask_path))
    size = np.asarray(image.GetSize(), float)
    centre = image.TransformContinuousIndexToPhysicalPoint(tuple((size - 1) / 2))
    truth = rigid_transform((2.0, 0.0, 8.0), (10.0, -8.0, 3.0), centre)  # baseline → follow-up points
    # Follow-up: the same head after the motion, on the same scanner grid (resampling maps output → input).
    follow_image = sitk.Resample(image, image, truth.GetInverse(), sitk.sitkLinear, 0.0, image.GetPixelID())
    # Lesions shrunk in-plane by 2 voxels (1.6 mm) on the baseline grid, then moved with the head; the
    # result is the follow-up's own (native) mask.
    shrunk = sitk.BinaryErode(sitk.Cast(mask, sitk.sitkUInt8), [2, 2, 0])
    follow_mask = sitk.Resample(shrunk, image, truth.GetInverse(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    folder = tmp_path_factory.mktemp("brain1")
    sitk.WriteImage(follow_image, str(folder / "followup_image.nrrd"))
    sitk.WriteImage(follow_mask, str(folder / "followup_mask.nrrd"))
    manifest = folder / "manifest.csv"
    pd.DataFrame([
        {"patient_id": "brain1", "date": "2024-03-01", "mask": "followup_mask.nrrd", "image": "followup_image.nrrd"},
        {"patient_id": "brain1", "date": "2024-01-02", "mask": str(mask_path), "image": str(image_path)},
    ]).to_csv(manifest, index=False)
    return manifest, mask, follow_mask, truth


def test_real_brain_follow_up_is_matched_and_measured(brain1_series, tmp_path):
    manifest, mask, follow_mask, truth = brain1_series
    result = track(manifest, organ="brain", allow_outside=True, out=tmp_path / "out")
    assert result.failures.empty, result.failures.message.tolist()

    registration = result.registrations[result.registrations.method == "image"].iloc[0]
    assert registration.plausible
    baseline = measure_mask(mask).set_index("lesion_id")
    centroids = baseline[["centroid_x", "centroid_y", "centroid_z"]].to_numpy(float)
    transform = result.transforms[("brain1", pd.Timestamp("2024-03-01").date())]
    error = transform_error_mm(transform, truth, centroids)
    print(f"brain1: transform error at the lesions {error.round(2).tolist()} mm")
    assert error.max() < MAX_ERROR_MM

    # Each baseline lesion (id = component number) is matched at the follow-up, to the component that
    # truly is it: the follow-up component containing the baseline centroid moved by the true motion.
    follow = measure_mask(follow_mask).set_index("lesion_id")
    moved = np.array([truth.TransformPoint(tuple(c)) for c in centroids])
    matches = result.matches[result.matches.date.astype(str) == "2024-03-01"].set_index("lesion_id")
    assert set(matches.status) == {"matched"} and len(matches) == 2
    for lesion_id, point in zip(baseline.index, moved):
        distances = np.linalg.norm(follow[["centroid_x", "centroid_y", "centroid_z"]].to_numpy(float) - point, axis=1)
        true_label = follow.index[int(np.argmin(distances))]
        assert matches.loc[lesion_id, "source_label"] == true_label

    # Diameters come from the native follow-up mask, and the lesions shrank.
    rows = result.lesions[result.lesions.date.astype(str) == "2024-03-01"].set_index("lesion_id")
    for lesion_id in baseline.index:
        label = matches.loc[lesion_id, "source_label"]
        assert rows.loc[lesion_id, "longest_diameter_mm"] == pytest.approx(follow.loc[label, "longest_diameter_mm"])
        assert rows.loc[lesion_id, "longest_diameter_mm"] < baseline.loc[lesion_id, "longest_diameter_mm"]
        assert rows.loc[lesion_id, "volume_mm3"] < baseline.loc[lesion_id, "volume_mm3"]

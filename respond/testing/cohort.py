"""A synthetic cohort of patients with brain metastases, written as respond's inputs.

Each patient is a :func:`respond.testing.series.make_series` series (an MR-like
head, ellipsoid lesions, a known small rigid motion per scan) with a course
drawn from a seeded generator, so the same arguments always give the same
files:

- ``responder``: every lesion shrinks by 35–100 %;
- ``stable``: lesions change by less than 10 %;
- ``local``: the largest lesion grows by 60 % at the last scan;
- ``distant``: a new lesion appears at the last scan;
- ``mixed``: one lesion shrinks, another disappears.

:func:`write_cohort` writes the NIfTI images and masks, ``manifest.csv``
(with steroid dose and clinical status columns), ``patients.csv`` (dates and
the clinical columns of the study outcomes: age, sex, KPS, primary site and
control, extracranial metastases, systemic status, cause of death) and
``treatments.csv`` (one radiotherapy course per patient, applied to all its
lesions: SRS, HFSRT, WBRT + SRS boost, or a Cs-131 permanent implant).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from respond.testing.series import Piece, ScanSpec, make_series

#: Patient courses, cycled through in order so that every cohort shows each.
COURSES = ("responder", "stable", "local", "distant", "mixed")


@dataclass(frozen=True)
class CohortFiles:
    """Paths of a written cohort and each patient's course."""

    manifest: Path
    patients: Path
    courses: dict[str, str]
    treatments: Path | None = None


def _positions(rng: np.random.Generator, radii: list[float]) -> list[tuple[float, float, float]]:
    """Lesion centres inside the brain, apart from each other by at least their radii + 10 mm."""
    centres: list[np.ndarray] = []
    for r in radii:
        for _ in range(200):
            c = rng.uniform([-45, -55, -25], [45, 45, 30])
            if all(np.linalg.norm(c - o) >= r + radii[i] + 10 for i, o in enumerate(centres)):
                centres.append(c)
                break
        else:  # pragma: no cover - the brain is large enough for up to four lesions
            raise RuntimeError("could not place lesions apart")
    return [tuple(float(v) for v in c) for c in centres]


def _sizes(course: str, n_scans: int, n_lesions: int, rng: np.random.Generator) -> np.ndarray:
    """Radius factor per scan (rows) and lesion (columns); 0 = gone."""
    f = np.ones((n_scans, n_lesions))
    for s in range(1, n_scans):
        t = s / (n_scans - 1)
        if course == "responder":
            f[s] = np.clip(1 - t * rng.uniform(0.35, 1.0, n_lesions), 0, 1)
        elif course == "stable":
            f[s] = 1 + rng.uniform(-0.08, 0.08, n_lesions)
        elif course in ("local", "distant"):
            f[s] = 1 - 0.1 * t
        elif course == "mixed":
            f[s, 0] = 1 - 0.5 * t
            if n_lesions > 1:
                f[s, 1] = 0.0
    if course == "local":
        f[-1, 0] = 1.6  # lesion L1, the largest: a target under every criteria
    f[f < 0.3] = 0.0  # below a third of the size the lesion is gone from the mask
    return f


def patient_specs(index: int, *, start: dt.date, seed: int = 0) -> tuple[list[ScanSpec], str]:
    """Scan specifications of patient ``index`` and its course."""
    rng = np.random.default_rng(seed * 1000 + index)
    course = COURSES[index % len(COURSES)]
    n_lesions = int(rng.integers(2 if course == "mixed" else 1, 4))
    n_scans = int(rng.integers(3, 6))
    radii = sorted((float(rng.uniform(6.0, 13.0)) for _ in range(n_lesions)), reverse=True)
    centres = _positions(rng, radii + [6.0])
    factors = _sizes(course, n_scans, n_lesions, rng)
    specs = []
    date = start
    for s in range(n_scans):
        lesions = {}
        for j in range(n_lesions):
            if factors[s, j] > 0:
                r = radii[j] * factors[s, j]
                lesions[f"L{j + 1}"] = (Piece(centres[j], (r * 1.1, r, r * 0.9)),)
        if course == "distant" and s == n_scans - 1:
            lesions["NEW"] = (Piece(centres[-1], (6.0, 6.0, 6.0)),)
        rotation = tuple(float(v) for v in rng.uniform(-5, 5, 3)) if s else (0.0, 0.0, 0.0)
        shift = tuple(float(v) for v in rng.uniform(-8, 8, 3)) if s else (0.0, 0.0, 0.0)
        specs.append(ScanSpec(date, lesions, rotation_deg=rotation, translation_mm=shift))  # type: ignore[arg-type]
        date = date + dt.timedelta(days=int(56 + rng.integers(-7, 8)))
    return specs, course


def _clinical(course: str, n_scans: int) -> list[tuple[float, str]]:
    """Dexamethasone (mg/day) and clinical status per scan for a course."""
    if course == "responder":
        return [(4.0, "stable")] + [(0.0, "improved")] * (n_scans - 1)
    if course == "local":
        return [(0.0, "stable")] * (n_scans - 1) + [(4.0, "worse")]
    return [(0.0, "stable")] * n_scans


#: Radiotherapy courses of the demo, cycled through by patient (blank lesion_id: all lesions).
_TREATMENTS = (
    ({"total_dose_gy": 20.0, "fractions": 1, "technique": "srs"},),
    ({"total_dose_gy": 27.0, "fractions": 3, "technique": "hfsrt"},),
    ({"total_dose_gy": 80.0, "fractions": 1, "technique": "brachytherapy", "isotope_half_life_days": 9.7,
      "repair_half_time_h": 1.5},),
    ({"total_dose_gy": 30.0, "fractions": 10, "technique": "wbrt"},
     {"total_dose_gy": 18.0, "fractions": 1, "technique": "srs"}),
    ({"total_dose_gy": 24.0, "fractions": 1, "technique": "srs"},),
)
_SITES = ("lung", "breast", "melanoma", "lung", "kidney", "lung", "colorectal")


def _clinical_columns(index: int, course: str, died: bool) -> dict:
    """Age, sex, KPS, primary, extracranial disease and cause of death of demo patient ``index`` (seeded)."""
    rng = np.random.default_rng(7919 + index)
    poor = course in ("local", "distant")
    return {"age_years": int(rng.integers(42, 80)), "sex": ("female", "male")[index % 2],
            "kps": int(rng.choice((60, 70)) if poor else rng.choice((80, 90, 100))),
            "primary_site": _SITES[index % len(_SITES)], "primary_controlled": "no" if poor else "yes",
            "extracranial_metastases": "yes" if poor or index % 3 == 0 else "no",
            "systemic_status": "pd" if poor else ("sd", "pr", "cr", "ned")[index % 4],
            "cause_of_death": "cancer" if died else ""}


def _treatment_rows(index: int, pid: str, start: dt.date) -> list[dict]:
    rows = []
    for k, course in enumerate(_TREATMENTS[index % len(_TREATMENTS)]):
        rows.append({"patient_id": pid, "lesion_id": "", "date": (start + dt.timedelta(days=7 * k)).isoformat(),
                     "alpha_beta_gy": "", "isotope_half_life_days": "", "repair_half_time_h": "", **course})
    return rows


def write_cohort(folder: str | Path, n_patients: int, *, spacing_mm: float | tuple[float, float, float] = 3.0,
                 images: bool = True, seed: int = 0, prefix: str = "BM") -> CohortFiles:
    """Write ``n_patients`` synthetic patients (images, masks, manifest.csv, patients.csv) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest_rows, patient_rows, treatment_rows, courses = [], [], [], {}
    for i in range(n_patients):
        pid = f"{prefix}-{i + 1:03d}"
        start = dt.date(2024, 1, 8) + dt.timedelta(days=7 * i)
        specs, course = patient_specs(i, start=start, seed=seed)
        courses[pid] = course
        series = make_series(specs, patient_id=pid, spacing_mm=spacing_mm, seed=seed + i,
                             extent_mm=(180.0, 200.0, 150.0))
        sub = folder / pid
        series.write(sub, images=images)
        scans = pd.read_csv(sub / "manifest.csv", dtype=str)
        (sub / "manifest.csv").unlink()
        scans = scans.sort_values("date").reset_index(drop=True)
        for column in ("mask", "image"):
            if column in scans.columns:
                scans[column] = scans[column].map(lambda name: f"{pid}/{name}")
        dose, status = zip(*_clinical(course, len(scans)))
        scans["steroid_dose_mg"], scans["clinical_status"] = dose, status
        manifest_rows.append(scans)
        last = dt.date.fromisoformat(scans["date"].iloc[-1])
        # patients who progress die 45 days after their last scan (after the progression: iPFS unchanged)
        death = (last + dt.timedelta(days=45)).isoformat() if course in ("local", "distant") else ""
        treated = start + dt.timedelta(days=3)
        patient_rows.append({"patient_id": pid, "treatment_start": treated.isoformat(),
                             "last_followup": (last + dt.timedelta(days=30)).isoformat(), "death_date": death,
                             **_clinical_columns(i, course, bool(death))})
        treatment_rows += _treatment_rows(i, pid, treated)
    manifest = pd.concat(manifest_rows, ignore_index=True)
    manifest_path = folder / "manifest.csv"
    manifest.to_csv(manifest_path, index=False)
    patients_path = folder / "patients.csv"
    pd.DataFrame(patient_rows).to_csv(patients_path, index=False)
    treatments_path = folder / "treatments.csv"
    columns = ["patient_id", "lesion_id", "date", "total_dose_gy", "fractions", "technique", "alpha_beta_gy",
               "isotope_half_life_days", "repair_half_time_h"]
    pd.DataFrame(treatment_rows, columns=columns).to_csv(treatments_path, index=False)
    return CohortFiles(manifest_path, patients_path, courses, treatments_path)


"""BED / EQD2 by hand for SRS, HFSRT, WBRT and a Cs-131 permanent implant (linear-quadratic model)."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from respond.outcomes.dose import bed_external_beam, bed_permanent_implant, dose_table, eqd2, lesion_bed


def test_srs_single_fraction():
    # 20 Gy x 1, α/β 10: BED = 20 (1 + 20/10) = 60 Gy; EQD2 = 60 / 1.2 = 50 Gy
    assert bed_external_beam(20.0, 1, 10.0) == pytest.approx(60.0)
    assert eqd2(60.0, 10.0) == pytest.approx(50.0)


def test_hfsrt_three_fractions():
    # 27 Gy / 3 fx: d = 9 Gy; BED = 27 (1 + 0.9) = 51.3 Gy; EQD2 = 51.3 / 1.2 = 42.75 Gy
    assert bed_external_beam(27.0, 3, 10.0) == pytest.approx(51.3)
    assert eqd2(51.3, 10.0) == pytest.approx(42.75)


def test_wbrt_ten_fractions_and_alpha_beta_override():
    # 30 Gy / 10 fx: BED = 30 (1 + 3/10) = 39 Gy, EQD2 32.5; with α/β 2: BED = 30 (1 + 1.5) = 75, EQD2 37.5
    assert bed_external_beam(30.0, 10, 10.0) == pytest.approx(39.0)
    assert eqd2(39.0, 10.0) == pytest.approx(32.5)
    assert bed_external_beam(30.0, 10, 2.0) == pytest.approx(75.0)
    assert eqd2(75.0, 2.0) == pytest.approx(37.5)


def test_cs131_permanent_implant():
    # Cs-131: T½ = 9.7 d = 232.8 h → λ = ln2/232.8 = 0.00297744 /h; repair 1.5 h → μ = 0.46209812 /h
    # λ/(μ+λ) = 0.00640205; D = 80 Gy, α/β 10: BED = 80 (1 + 0.00640205 · 8) = 84.0973 Gy; EQD2 = 70.0811 Gy
    bed = bed_permanent_implant(80.0, 9.7, 1.5, 10.0)
    assert bed == pytest.approx(84.0973, abs=1e-4)
    assert eqd2(bed, 10.0) == pytest.approx(70.0811, abs=1e-4)


def test_dose_table_rows_and_lesion_totals():
    treatments = pd.DataFrame([
        {"patient_id": "P1", "lesion_id": "L1", "date": "2024-01-10", "total_dose_gy": 20.0, "fractions": 1,
         "technique": "srs", "alpha_beta_gy": None, "isotope_half_life_days": None, "repair_half_time_h": None},
        {"patient_id": "P1", "lesion_id": None, "date": "2024-01-12", "total_dose_gy": 30.0, "fractions": 10,
         "technique": "wbrt", "alpha_beta_gy": None, "isotope_half_life_days": None, "repair_half_time_h": None},
        {"patient_id": "P2", "lesion_id": "L1", "date": "2024-02-01", "total_dose_gy": 80.0, "fractions": 1,
         "technique": "brachytherapy", "alpha_beta_gy": None, "isotope_half_life_days": 9.7,
         "repair_half_time_h": None},
    ])
    lesions = pd.DataFrame([
        {"patient_id": "P1", "lesion_id": "L1", "date": "2024-01-02"},
        {"patient_id": "P1", "lesion_id": "L2", "date": "2024-01-02"},
        {"patient_id": "P1", "lesion_id": "L3", "date": "2024-04-02"},  # new after WBRT: not treated by it
    ])
    doses = dose_table(treatments, lesions, 10.0)
    courses = doses[doses["technique"] != "total"]
    assert list(courses["bed_gy"].round(6)[:2]) == [60.0, 39.0]
    assert math.isnan(courses["bed_gy"].iloc[2])
    assert "repair_half_time_h" in courses["note"].iloc[2]
    totals = lesion_bed(doses).set_index(["patient_id", "lesion_id"])["bed_gy"]
    assert totals[("P1", "L1")] == pytest.approx(99.0)   # SRS 60 + WBRT 39
    assert totals[("P1", "L2")] == pytest.approx(39.0)   # WBRT only
    assert ("P1", "L3") not in totals.index
    assert math.isnan(totals[("P2", "L1")])              # BED of its course unknown
    l1 = doses[(doses["technique"] == "total") & (doses["lesion_id"] == "L1") & (doses["patient_id"] == "P1")]
    assert l1["eqd2_gy"].iloc[0] == pytest.approx(99.0 / 1.2)

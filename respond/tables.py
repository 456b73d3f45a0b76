"""Column definitions of every table that flows between respond's stages.

Each table is defined once here; readers validate against it and writers
order their columns by it. Units live in column names (``_mm``, ``_mm3``,
``_days``); dates are ISO ``YYYY-MM-DD`` strings in files and
:class:`datetime.date` values in memory.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import pandas as pd


@dataclass(frozen=True)
class Column:
    """One column of a table.

    ``kind`` is one of ``str``, ``date``, ``float``, ``int``, ``bool``.
    """

    name: str
    kind: str
    description: str
    required: bool = False


@dataclass(frozen=True)
class Table:
    """An ordered set of columns with a name used in messages."""

    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")

    def empty(self) -> pd.DataFrame:
        """An empty DataFrame with this table's columns."""
        return pd.DataFrame({n: pd.Series(dtype=object) for n in self.names})

    def conform(self, frame: pd.DataFrame, *, keep_extra: bool = True) -> pd.DataFrame:
        """Order ``frame``'s columns by the definition, adding missing ones blank.

        Columns not in the definition are kept after the defined ones when
        ``keep_extra`` is true.
        """
        out = frame.copy()
        for n in self.names:
            if n not in out.columns:
                out[n] = pd.NA
        extra = [c for c in out.columns if c not in self.names] if keep_extra else []
        return out[self.names + extra]


C = Column

#: Status values a reader can give a lesion at one scan.
LESION_STATUSES: Final = ("present", "absent", "progression", "too_small", "not_evaluated")
#: Reader's baseline choice of a lesion's role.
LESION_ROLES: Final = ("target", "non_target")
#: Clinical status values for RANO-BM.
CLINICAL_STATUSES: Final = ("improved", "stable", "worse")
#: Response categories, in RECIST 1.1 / RANO-BM spelling.
RESPONSES: Final = ("CR", "PR", "SD", "PD", "NE", "NON-CR/NON-PD")

LESIONS: Final = Table(
    "lesions",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("date", "date", "Scan date, ISO YYYY-MM-DD.", True),
        C("lesion_id", "str", "Lesion identifier, the same for one lesion across dates.", True),
        C("organ", "str", "Organ, free text; 'lymph_node' marks nodes, 'brain' marks CNS lesions.", True),
        C("longest_diameter_mm", "float", "Longest axial diameter in mm; blank = not evaluated, 0 = disappeared.", True),
        C("short_axis_mm", "float", "Longest diameter perpendicular to the long axis in the same slice, mm (node short axis)."),
        C("n_slices", "int", "Number of axial slices the lesion is visible on."),
        C("volume_mm3", "float", "Lesion volume in mm³."),
        C("role", "str", "Reader's baseline choice: target / non_target (all criteria)."),
        C("status", "str", "present / absent / progression / too_small / not_evaluated."),
        C("equivocal", "bool", "True for a new lesion whose nature is still equivocal at that date."),
        C("visit", "str", "Visit (assessment) the scan belongs to; scans of one visit are one timepoint."),
        C("fragment_of", "str",
          "For a fragment of a lesion that split: the parent lesion_id (RECIST 1.1 §4.3: fragments' diameters "
          "are summed under the parent). Blank for an ordinary lesion."),
        C("merged_into", "str",
          "For a lesion that coalesced with another: the lesion_id now carrying the coalesced measurement "
          "(this row reads 0 mm and is not 'disappeared'). Blank otherwise."),
        C("slice_thickness_mm", "float", "Slice thickness (spacing along the slice normal) of the scan, mm."),
        C("previously_treated", "bool", "The lesion was treated (e.g. radiosurgery) before the baseline."),
        # Measurement columns (written by `respond measure`, ignored by the criteria).
        C("diameter_3d_mm", "float", "Maximum 3D (Feret) diameter, mm."),
        C("mesh_volume_mm3", "float", "Volume enclosed by the boundary mesh, mm³."),
        C("ld_p1_x", "float", "Longest-diameter endpoint 1, patient x (LPS), mm."),
        C("ld_p1_y", "float", "Longest-diameter endpoint 1, patient y (LPS), mm."),
        C("ld_p1_z", "float", "Longest-diameter endpoint 1, patient z (LPS), mm."),
        C("ld_p2_x", "float", "Longest-diameter endpoint 2, patient x (LPS), mm."),
        C("ld_p2_y", "float", "Longest-diameter endpoint 2, patient y (LPS), mm."),
        C("ld_p2_z", "float", "Longest-diameter endpoint 2, patient z (LPS), mm."),
        C("ld_slice", "int", "Index of the axial slice holding the longest diameter."),
        C("centroid_x", "float", "Centroid, patient x (LPS), mm."),
        C("centroid_y", "float", "Centroid, patient y (LPS), mm."),
        C("centroid_z", "float", "Centroid, patient z (LPS), mm."),
        C("touches_edge", "bool", "The lesion touches the edge of the image."),
        C("single_slice", "bool", "The lesion is on one axial slice only."),
        C("reformatted", "bool", "Measured on an axial reformat of a non-axial acquisition."),
        C("measurement_convention", "str", "How diameters were measured, e.g. 'mesh' (IBSI boundary)."),
        C("label", "int", "Mask value the lesion was measured from."),
        C("voxel_count", "int", "Number of mask voxels in the lesion."),
        C("below_10mm", "bool", "Longest diameter < 10 mm (not measurable under RECIST 1.1 / RANO-BM)."),
        C("sa_p1_x", "float", "Short-axis endpoint 1, patient x (LPS), mm."),
        C("sa_p1_y", "float", "Short-axis endpoint 1, patient y (LPS), mm."),
        C("sa_p1_z", "float", "Short-axis endpoint 1, patient z (LPS), mm."),
        C("sa_p2_x", "float", "Short-axis endpoint 2, patient x (LPS), mm."),
        C("sa_p2_y", "float", "Short-axis endpoint 2, patient y (LPS), mm."),
        C("sa_p2_z", "float", "Short-axis endpoint 2, patient z (LPS), mm."),
        C("obliquity_deg", "float", "Angle between the native slice normal closest to patient z and z, degrees."),
        C("qform_sform_disagreement_mm", "float",
          "NIfTI masks with both a qform and an sform: their largest disagreement at the grid corners, mm "
          "(QC; blank when the file has one transform or is not NIfTI)."),
    ),
)

CLINICAL: Final = Table(
    "clinical",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("date", "date", "Date of the clinical assessment, ISO YYYY-MM-DD.", True),
        C("steroid_dose_mg", "float", "Corticosteroid dose, dexamethasone-equivalent mg per day."),
        C("clinical_status", "str", "improved / stable / worse."),
    ),
)

PATIENTS: Final = Table(
    "patients",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("treatment_start", "date", "Start of treatment, ISO date; time origin of endpoints."),
        C("last_followup", "date", "Date of last follow-up, ISO date."),
        C("death_date", "date", "Date of death, ISO date."),
        # Clinical columns of the study outcomes (respond.outcomes); all optional.
        C("age_years", "float", "Age at treatment start, years (completed years are used by the indices)."),
        C("sex", "str", "male / female."),
        C("kps", "float", "Karnofsky performance status at treatment start, 0-100."),
        C("primary_site", "str", "Primary tumour site, free text (e.g. lung, breast, melanoma)."),
        C("primary_controlled", "bool", "The primary tumour is controlled (yes/no)."),
        C("extracranial_metastases", "bool", "Metastases outside the CNS are present (yes/no)."),
        C("systemic_status", "str", "Extracranial disease status: ned / cr / pr / sd / pd."),
        C("cause_of_death", "str", "cancer / other / unknown (for cancer-specific survival)."),
    ),
)

TARGETS: Final = Table(
    "targets",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("criteria", "str", "Criteria id, e.g. recist1.1 / rano-bm.", True),
        C("lesion_id", "str", "Lesion identifier.", True),
        C("role", "str", "target / non_target / new / excluded.", True),
        C("organ", "str", "Organ as given (normalised).", True),
        C("baseline_value_mm", "float", "Baseline diameter used for the sum (LD, or short axis for nodes), mm."),
        C("reason", "str", "Why the lesion has this role.", True),
        C("config_hash", "str", "SHA-256 (first 16 hex digits) of the criteria configuration used."),
    ),
)

TIMEPOINTS: Final = Table(
    "timepoints",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("criteria", "str", "Criteria id.", True),
        C("date", "date", "Scan date.", True),
        C("days_from_baseline", "int", "Days since the baseline scan.", True),
        C("target_sum_mm", "float", "Sum of target diameters at this date, mm (blank when not all evaluated)."),
        C("baseline_sum_mm", "float", "Sum of target diameters at baseline, mm."),
        C("nadir_sum_mm", "float", "Smallest fully evaluated sum before this date (baseline included), mm."),
        C("pct_change_from_baseline", "float", "Change of the sum from baseline, %."),
        C("pct_change_from_nadir", "float", "Change of the sum from the nadir, %."),
        C("target_response", "str", "CR / PR / SD / PD / NE, blank without targets or at baseline."),
        C("non_target_response", "str", "CR / NON-CR/NON-PD / PD / NE, blank without non-targets or at baseline."),
        C("new_lesions", "str", "no / yes / equivocal."),
        C("overall_response", "str", "CR / PR / SD / PD / NE / NON-CR/NON-PD, blank at baseline."),
        C("progression_causes", "str",
          "For PD: what made it PD, '+'-joined from target, non_target, new_lesion, reappearance, clinical."),
        C("imaging_only", "bool", "Clinical data (steroids, clinical status) were required but missing."),
        C("reason", "str", "Readable trace of the rules that decided."),
        C("config_hash", "str", "SHA-256 (first 16 hex digits) of the criteria configuration used."),
        C("visit", "str", "Visit of the timepoint (the lesion table's visit, or the date of its first scan)."),
        C("overall_response_unadjudicated", "str",
          "Overall response before adjudications (radionecrosis / pseudoprogression) were applied."),
    ),
)

BEST_RESPONSE: Final = Table(
    "best_response",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("criteria", "str", "Criteria id.", True),
        C("best_overall_response", "str", "CR / PR / SD / NON-CR/NON-PD / PD / NE.", True),
        C("confirmed", "bool", "For CR/PR: a confirming assessment exists; blank otherwise."),
        C("best_response_date", "date", "Date of the first assessment showing the best response."),
        C("progression_date", "date", "Date of progression (back-dated for confirmed equivocal new lesions); blank if none."),
        C("reason", "str", "Readable trace of how the best response was derived."),
        C("config_hash", "str", "SHA-256 (first 16 hex digits) of the criteria configuration used."),
    ),
)

MATCHES: Final = Table(
    "matches",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("date", "date", "Scan date.", True),
        C("lesion_id", "str", "Tracked lesion identifier.", True),
        C("source_label", "str", "Label or component number in the scan's mask."),
        C("status", "str", "baseline / matched / new / disappeared / split / merged.", True),
        C("overlap", "float", "Dice overlap with the matched earlier lesion in the baseline frame."),
        C("distance_mm", "float", "Centroid distance to the matched earlier lesion in the baseline frame, mm."),
        C("method", "str",
          "How the component was matched: overlap (footprints within the match margin) / centroid (no overlap: "
          "centroid distance within the lesion's own size) / link (manual) / label (labels mode); blank for a "
          "baseline or new lesion."),
    ),
)

EVENTS: Final = Table(
    "events",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("criteria", "str", "Criteria id.", True),
        C("endpoint", "str", "Endpoint name, e.g. ipfs / local_control.", True),
        C("lesion_id", "str", "Lesion identifier for lesion-level endpoints."),
        C("time_days", "float", "Time from origin to event or censoring, days.", True),
        C("event", "bool", "True for an event, False for censoring.", True),
        C("event_date", "date", "Date of the event or censoring."),
        C("pattern", "str", "Progression pattern: local / distant / local+distant / non_target / clinical / death."),
        C("censor_reason", "str", "Why the observation was censored."),
        C("reason", "str", "Readable trace: origin, the event or censoring and what decided it."),
        C("config_hash", "str", "SHA-256 (first 16 hex digits) of the criteria configuration used."),
    ),
)

FAILURES: Final = Table(
    "failures",
    (
        C("patient_id", "str", "Patient identifier (blank for file-level problems).", False),
        C("stage", "str", "Pipeline stage that failed, e.g. read / measure / evaluate.", True),
        C("error_code", "str", "Stable error code.", True),
        C("message", "str", "What went wrong and what to do.", True),
    ),
)

#: Findings an adjudication can record for a lesion at a scan.
ADJUDICATION_FINDINGS: Final = ("tumor", "radionecrosis", "pseudoprogression")

ADJUDICATIONS: Final = Table(
    "adjudications",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("lesion_id", "str", "Lesion identifier (as in the lesion table).", True),
        C("date", "date", "Date of the scan whose imaging call is adjudicated, ISO date.", True),
        C("finding", "str", "tumor / radionecrosis / pseudoprogression (e.g. pathology, perfusion, follow-up).", True),
        C("source", "str", "Basis of the finding, free text (e.g. pathology, MR perfusion)."),
    ),
)

SUMMARY: Final = Table(
    "summary",
    (
        C("criteria", "str", "Criteria id (or 'A vs B' for agreement statistics).", True),
        C("statistic", "str",
          "iorr / dcr / ilc_rate / ipfs_rate / ipfs_median / local_control_rate / local_control_median / "
          "pattern_<pattern> / kappa / observed_agreement.", True),
        C("method", "str", "clopper-pearson / jeffreys / kaplan-meier / count / cohen."),
        C("time_months", "float", "Time of a Kaplan-Meier rate, months (30.4375 days)."),
        C("n", "int", "Patients (or lesions for local control) in the denominator.", True),
        C("events", "int", "Responders, events or patients counted in the numerator."),
        C("at_risk", "int", "Number still at risk at time_months (observed time ≥ that time)."),
        C("estimate", "float", "Proportion, survival probability, median (months) or kappa."),
        C("ci_low", "float", "Lower limit of the confidence interval."),
        C("ci_high", "float", "Upper limit of the confidence interval (inf: not reached)."),
        C("unit", "str", "proportion / months / kappa."),
        C("note", "str", "E.g. 'not reached', 'beyond the longest follow-up'."),
        C("config_hash", "str", "SHA-256 (first 16 hex digits) of the criteria configuration used."),
    ),
)

AGREEMENT: Final = Table(
    "agreement",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("criteria_a", "str", "First criteria id.", True),
        C("criteria_b", "str", "Second criteria id.", True),
        C("response_a", "str", "Best overall response under criteria_a.", True),
        C("response_b", "str", "Best overall response under criteria_b.", True),
        C("agree", "bool", "The two best responses are the same.", True),
        C("reason", "str", "For a difference: what the criteria saw differently."),
    ),
)

#: Regions a scan can cover (the scans table); a lesion's organ maps to a region by the presets.
SCAN_REGIONS: Final = ("brain", "spine", "head_neck", "chest", "abdomen", "pelvis", "whole_body")

SCANS: Final = Table(
    "scans",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("date", "date", "Scan date, ISO YYYY-MM-DD.", True),
        C("visit", "str", "Visit (assessment) the scan belongs to."),
        C("region", "str", "Body region imaged: brain / spine / head_neck / chest / abdomen / pelvis / whole_body.", True),
        C("lesion_count", "int", "Lesions found on the scan (0: imaged, nothing found); blank when not known."),
    ),
)

WARNINGS: Final = Table(
    "warnings",
    (
        C("patient_id", "str", "Patient identifier (blank for run-level warnings)."),
        C("criteria", "str", "Criteria id, when the warning concerns one criteria."),
        C("code", "str", "Stable warning code, e.g. empty_baseline_mask / empty_followup_mask / unknown_organ."),
        C("message", "str", "What was found and what it means for the results.", True),
    ),
)

#: Statuses of a lesion at a scan in the matches table.
MATCH_STATUSES: Final = ("baseline", "matched", "new", "disappeared", "split", "merged")

MANIFEST: Final = Table(
    "manifest",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("date", "date", "Scan date, ISO YYYY-MM-DD; scans are ordered by it.", True),
        C("mask", "str", "Lesion mask file (relative paths: relative to the manifest's folder).", True),
        C("image", "str", "Image the mask was drawn on (optional; used for registration)."),
        C("organ", "str", "Organ of the scan's lesions (optional when given on the command line)."),
    ),
)

REGISTRATIONS: Final = Table(
    "registrations",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("date", "date", "Date of the registered (follow-up) scan.", True),
        C("baseline_date", "date", "Date of the baseline the scan was registered to.", True),
        C("method", "str", "baseline / image (Mattes MI) / masks (distance maps) / identity / none.", True),
        C("transform_type", "str", "rigid / affine / identity."),
        C("transform_file", "str", "ITK transform file (baseline → follow-up points), relative to the output folder."),
        C("metric", "str", "Metric optimised: mattes_mi / mean_squares_distance."),
        C("initial_metric", "float", "Metric at the finest level before optimisation (lower is better)."),
        C("final_metric", "float", "Metric at the finest level after optimisation (lower is better)."),
        C("iterations", "int", "Optimiser iterations over all levels."),
        C("rotation_deg", "float", "Rotation angle of the transform, degrees."),
        C("translation_mm", "float", "Displacement of the baseline image centre, mm."),
        C("scale_deviation", "float", "Largest |scale - 1| of an affine transform (0 for rigid)."),
        C("overlap", "float", "Dice of the two lesion masks in the baseline frame (lesions change: a figure, not a check)."),
        C("plausible", "bool", "Every plausibility check passed (rotation, scale, metric).", True),
        C("problems", "str", "Failed plausibility checks; the scan's registration is not used when any."),
        C("notes", "str", "How the scans were aligned and why (e.g. images absent), optimiser stop condition."),
        C("seconds", "float", "Wall time of the registration, s."),
    ),
)

#: Columns other stages write into a lesion table next to :data:`LESIONS` (tracking's bookkeeping,
#: the SDTM reader's visit number); the table reader accepts them and the criteria ignore them.
LESION_EXTRA_COLUMNS: Final = ("track_status", "source_labels", "fragments", "visitnum")

#: Actions a links table row can take.
LINK_ACTIONS: Final = ("link", "unlink")

LINKS: Final = Table(
    "links",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("date", "date", "Scan date, ISO YYYY-MM-DD.", True),
        C("source_label", "str", "Component (or label) number in that scan's mask, as in matches.csv.", True),
        C("lesion_id", "str", "Lesion id the component is (link) or is not (unlink).", True),
        C("action", "str", "link (default) / unlink."),
    ),
)


def as_date(value: object) -> "dt.date | None":
    """A :class:`datetime.date` from a date, datetime or pandas Timestamp; None for anything else.

    The one date coercion of respond's readers and stages (text is parsed by the readers, not here).
    """
    import datetime as dt

    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


#: Column name prefix of a per-criteria reader role in the lesion table, e.g. ``role_rano-bm``.
ROLE_PREFIX: Final = "role_"


def fast_records(frame: pd.DataFrame) -> list[dict]:
    """``frame.to_dict("records")`` built column by column (pandas boxes every cell one by one: ~10× slower)."""
    columns = list(frame.columns)
    values = [frame[c].tolist() for c in columns]
    return [dict(zip(columns, row)) for row in zip(*values)]


def records_by_patient(frame: pd.DataFrame | None) -> dict:
    """Rows of ``frame`` as records (:func:`fast_records`) per ``patient_id``, in table order; empty for None.

    One pass over the whole table: filtering it once per patient would be quadratic in patients.
    """
    out: dict = {}
    if frame is None or frame.empty:
        return out
    for rec in fast_records(frame):
        out.setdefault(rec["patient_id"], []).append(rec)
    return out

# --- Study outcomes (respond.outcomes) -------------------------------------------------------------

#: Values of the patients table's ``sex`` column.
SEXES: Final = ("male", "female")
#: Values of ``systemic_status`` (extracranial disease status, as the SIR scores it).
SYSTEMIC_STATUSES: Final = ("ned", "cr", "pr", "sd", "pd")
#: Values of ``cause_of_death``.
CAUSES_OF_DEATH: Final = ("cancer", "other", "unknown")
#: Radiotherapy techniques of the treatments table.
TECHNIQUES: Final = ("srs", "hfsrt", "wbrt", "ebrt", "brachytherapy")

TREATMENTS: Final = Table(
    "treatments",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("lesion_id", "str", "Lesion treated (as in the lesion table); blank = whole brain / all lesions."),
        C("date", "date", "Date of the course (first fraction or implant), ISO date.", True),
        C("total_dose_gy", "float", "Total physical dose of the course, Gy.", True),
        C("fractions", "int", "Number of fractions (1 for single-fraction SRS and for a permanent implant)."),
        C("technique", "str", "srs / hfsrt / wbrt / ebrt / brachytherapy.", True),
        C("alpha_beta_gy", "float", "α/β of the irradiated tissue, Gy; blank = the preset (10 Gy, tumour)."),
        C("isotope_half_life_days", "float", "Permanent implant: physical half-life of the isotope, days."),
        C("repair_half_time_h", "float", "Permanent implant: sublethal-damage repair half-time, hours."),
    ),
)

INDICES: Final = Table(
    "indices",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("index", "str", "rpa / gpa / sir / bsbm / ggs.", True),
        C("score", "float", "Points of the index (blank for RPA, a class only, or when an input is missing)."),
        C("class", "str", "Prognostic class or survival group of the preset grouping (blank when not determined)."),
        C("inputs", "str", "Each component used: value and points, '; '-separated."),
        C("missing", "str", "Inputs that were missing, '; '-separated (blank when none)."),
    ),
)

OUTCOMES: Final = Table(
    "outcomes",
    (
        C("endpoint", "str", "os / css / ipfs / local_control.", True),
        C("criteria", "str", "Criteria id for ipfs / local_control; blank for os / css."),
        C("group_by", "str", "Blank (whole cohort), an index (rpa, gpa, …) or a covariate (age_ge_60, …)."),
        C("group", "str", "The group's value (an index class, true / false)."),
        C("statistic", "str", "median / rate / median_followup / logrank.", True),
        C("time_months", "float", "Time of a rate, months (30.4375 days)."),
        C("n", "int", "Patients (lesions for local control) in the analysis."),
        C("events", "int", "Events among them."),
        C("at_risk", "int", "Number still at risk at time_months (observed time ≥ that time)."),
        C("estimate", "float", "Median (months), survival probability, or the log-rank test statistic."),
        C("ci_low", "float", "Lower limit of the confidence interval."),
        C("ci_high", "float", "Upper limit of the confidence interval (inf: not reached)."),
        C("p_value", "float", "Log-rank p value (statistic logrank)."),
        C("note", "str", "E.g. 'median not reached', what could not be computed and why."),
    ),
)

COX: Final = Table(
    "cox",
    (
        C("endpoint", "str", "os / css / ipfs / local_control.", True),
        C("criteria", "str", "Criteria id for ipfs / local_control; blank for os / css."),
        C("model", "str", "univariate / multivariate.", True),
        C("level", "str", "patient / lesion (lesion models cluster on patient_id, robust variance).", True),
        C("covariate", "str", "Covariate name; HR compares the named condition true vs false (per unit if numeric).", True),
        C("n", "int", "Observations in the model."),
        C("events", "int", "Events in the model."),
        C("hr", "float", "Hazard ratio, exp(coef)."),
        C("ci_low", "float", "Lower limit of the 95 % (preset level) interval of the HR."),
        C("ci_high", "float", "Upper limit of the interval of the HR."),
        C("p_value", "float", "Wald p value."),
        C("note", "str", "Proportional-hazards check, or why the HR could not be estimated."),
    ),
)

DOSES: Final = Table(
    "doses",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("lesion_id", "str", "Lesion; blank for a whole-brain course."),
        C("date", "date", "Date of the course; blank on a lesion's 'total' row."),
        C("technique", "str", "srs / hfsrt / wbrt / ebrt / brachytherapy, or 'total' (a lesion's summed BED)."),
        C("total_dose_gy", "float", "Total physical dose, Gy."),
        C("fractions", "int", "Number of fractions."),
        C("alpha_beta_gy", "float", "α/β used, Gy."),
        C("bed_gy", "float", "Biologically effective dose, Gy."),
        C("eqd2_gy", "float", "Equivalent dose in 2-Gy fractions (nBED), Gy."),
        C("note", "str", "Why a dose could not be computed, or what a total includes."),
    ),
)

CUMULATIVE_INCIDENCE: Final = Table(
    "cumulative_incidence",
    (
        C("endpoint", "str", "local_control (local failure, death the competing event).", True),
        C("criteria", "str", "Criteria id.", True),
        C("time_months", "float", "Time, months (30.4375 days).", True),
        C("n", "int", "Lesions in the analysis."),
        C("estimate", "float", "Cumulative incidence of local failure (Aalen-Johansen)."),
        C("ci_low", "float", "Lower limit of the interval."),
        C("ci_high", "float", "Upper limit of the interval."),
        C("note", "str", "E.g. 'beyond the longest follow-up'."),
    ),
)

CHARACTERISTICS: Final = Table(
    "characteristics",
    (
        C("characteristic", "str", "Patient or lesion characteristic (a paper's Table 1 row).", True),
        C("level", "str", "Category of a categorical characteristic; blank for a numeric one."),
        C("n", "int", "Patients with the category (categorical) or with a value (numeric)."),
        C("percent", "float", "n as a percentage of the patients with a value."),
        C("median", "float", "Median of a numeric characteristic."),
        C("q1", "float", "First quartile."),
        C("q3", "float", "Third quartile."),
        C("missing", "int", "Patients without a value."),
        C("summary", "str", "As printed in a paper: 'median (IQR)' or 'n (%)'."),
    ),
)

#: One row per patient: the analysis data set of the patient-level models (covariates, times, classes).
PATIENT_COVARIATES: Final = Table(
    "patient_covariates",
    (
        C("patient_id", "str", "Patient identifier.", True),
        C("n_brain_lesions", "int", "CNS lesions present at the patient's baseline scan (lesion table)."),
        C("total_brain_volume_cm3", "float", "Total CNS lesion volume (GTV) at baseline, cm³."),
        C("largest_lesion_cm3", "float", "Volume of the largest CNS lesion at baseline, cm³."),
        C("sex_male", "bool", "sex is male."),
        C("age_ge_60", "bool", "age_years ≥ the preset cut-point (60)."),
        C("kps_lt_70", "bool", "kps < the preset cut-point (70)."),
        C("extracranial_metastases", "bool", "Extracranial metastases present."),
        C("multiple_brain_metastases", "bool", "More than one CNS lesion at baseline."),
        C("lung_primary", "bool", "primary_site is one of the preset's lung sites."),
        C("gtv_ge_10cm3", "bool", "Total CNS volume ≥ the preset cut-point (10 cm³)."),
        C("os_months", "float", "Time from treatment_start to death or last follow-up, months (30.4375 days)."),
        C("os_event", "bool", "Death from any cause (overall survival event)."),
        C("css_event", "bool", "Death counted as cancer death (cancer-specific survival event)."),
        C("rpa_class", "str", "RPA class (Gaspar 1997)."),
        C("gpa_class", "str", "GPA group of the preset grouping (Sperduto 2008)."),
        C("sir_class", "str", "SIR group of the preset grouping (Weltman 2000)."),
        C("bsbm_class", "str", "BS-BM score group (Lorenzoni 2004)."),
        C("ggs_class", "str", "GGS score group (Golden 2008)."),
    ),
)

"""Study outcomes: OS / CSS / iPFS / local control, prognostic indices, Cox and log-rank tables,
competing risks and BED/EQD2 — a pure stage (DataFrames in, DataFrames out).

>>> import respond
>>> result = respond.evaluate("lesions.csv", patients="patients.csv")            # doctest: +SKIP
>>> tables = respond.outcomes(result, treatments=treatments_frame)                # doctest: +SKIP
>>> tables.cox, tables.outcomes, tables.indices                                  # doctest: +SKIP

``respond.outcomes`` is this package and, called, :func:`compute_outcomes`
(like ``respond.measure``). It takes DataFrames only: a result of
``respond.evaluate`` / ``respond.assess`` (or a mapping of tables), the
patients table (with the clinical columns of :data:`respond.tables.PATIENTS`)
and the treatments table. Files and run folders are read by
``respond outcomes RUN_DIR`` (:mod:`respond.pipeline.outcomes`).

Definitions and sources: :mod:`~respond.outcomes.indices` (RPA, GPA, SIR,
BS-BM, GGS), :mod:`~respond.outcomes.dose` (BED, EQD2),
:mod:`~respond.outcomes.survival` (KM, reverse KM, log-rank),
:mod:`~respond.outcomes.cox` (Cox models), :mod:`~respond.outcomes.competing`
(Aalen–Johansen), :mod:`~respond.outcomes.covariates` (imaging and clinical
covariates), :mod:`~respond.outcomes.characteristics` (Table 1). Choices live
in ``configs/outcomes.yaml`` (:mod:`~respond.outcomes.settings`).
"""
from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import pandas as pd

from respond.errors import RespondError
from respond.outcomes.characteristics import characteristics
from respond.outcomes.competing import competing_frame, incidence_rows
from respond.outcomes.covariates import imaging_covariates, lesion_covariates, patient_covariates
from respond.outcomes.cox import fit_cox
from respond.outcomes.dose import dose_table, lesion_bed
from respond.outcomes.indices import INDEX_FUNCTIONS
from respond.outcomes.inputs import blank, to_date, typed_patients, typed_treatments
from respond.outcomes.settings import INDEX_NAMES, OutcomeSettings, load_outcome_settings
from respond.outcomes.survival import DAYS_PER_MONTH, followup_row, grouped_rows, km_rows, patient_times
from respond.tables import (CHARACTERISTICS, COX, CUMULATIVE_INCIDENCE, DOSES, FAILURES, INDICES, OUTCOMES,
                            PATIENT_COVARIATES, WARNINGS)

__all__ = ["OutcomeResult", "OutcomeSettings", "compute_outcomes", "load_outcome_settings", "DAYS_PER_MONTH"]

#: Tables of an :class:`OutcomeResult`, by file stem, with their definitions.
OUTCOME_TABLES = {"indices": INDICES, "outcomes": OUTCOMES, "cox": COX, "doses": DOSES,
                  "cumulative_incidence": CUMULATIVE_INCIDENCE, "characteristics": CHARACTERISTICS,
                  "patient_covariates": PATIENT_COVARIATES}


@dataclass
class OutcomeResult:
    """The outcome tables (DataFrames, columns in :mod:`respond.tables`) and the patients left out."""

    indices: pd.DataFrame
    outcomes: pd.DataFrame
    cox: pd.DataFrame
    doses: pd.DataFrame
    cumulative_incidence: pd.DataFrame
    characteristics: pd.DataFrame
    patient_covariates: pd.DataFrame
    failures: pd.DataFrame
    warnings: pd.DataFrame = field(default_factory=WARNINGS.empty)
    settings: OutcomeSettings | None = field(default=None, repr=False)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every outcome table by file stem (failures not included)."""
        return {name: getattr(self, name) for name in OUTCOME_TABLES}


def _from_source(source: Any) -> dict[str, Any]:
    """lesions / events / patients / treatments from a result object or a mapping of tables."""
    if source is None:
        return {}
    if isinstance(source, Mapping):
        return dict(source)
    tables = getattr(source, "tables", None)
    found = dict(tables) if isinstance(tables, Mapping) else {}
    for name in ("lesions", "events"):
        value = getattr(source, name, None)
        if isinstance(value, pd.DataFrame):
            found.setdefault(name, value)
    extra = getattr(source, "endpoint_tables", None) or {}
    if isinstance(extra.get("patients"), pd.DataFrame):
        found.setdefault("patients", extra["patients"])
    return found


def compute_outcomes(source: Any = None, *, patients: pd.DataFrame | None = None,
                     treatments: pd.DataFrame | None = None, lesions: pd.DataFrame | None = None,
                     events: pd.DataFrame | None = None, config: Any = None,
                     covariates: Iterable[str] | None = None) -> OutcomeResult:
    """Every outcome table of a cohort.

    ``source``: a result of ``respond.evaluate`` / ``respond.assess`` or a mapping
    with ``lesions``, ``events``, ``patients``, ``treatments``; the keyword
    tables override it. ``config``: the outcomes preset (None = shipped), a
    YAML path or a mapping. ``covariates``: the covariates of the univariate
    and multivariate patient models instead of the preset's. What cannot be
    computed is said in the ``note`` / ``missing`` columns; a patient with an
    unreadable value is left out and listed in ``failures``.
    """
    given = _from_source(source)
    settings = load_outcome_settings(config)
    if covariates is not None:
        names = tuple(covariates)
        settings = settings.with_covariates(names, names)
    patients_typed, bad_patients = typed_patients(patients if patients is not None else given.get("patients"))
    treatments_typed, bad_treatments = typed_treatments(
        treatments if treatments is not None else given.get("treatments"))
    lesions = lesions if lesions is not None else given.get("lesions")
    events = events if events is not None else given.get("events")
    cohort = _cohort(patients_typed, lesions, settings)
    doses = dose_table(treatments_typed, lesions, settings.alpha_beta_gy)
    lesion_frame = _lesion_covariate_frame(lesions, doses)
    return OutcomeResult(
        indices=cohort["indices"],
        outcomes=_outcome_rows(cohort, events, lesion_frame, settings),
        cox=_cox_rows(cohort, events, lesion_frame, settings),
        doses=doses,
        cumulative_incidence=_incidence(events, patients_typed, settings),
        characteristics=characteristics(cohort["wide"]),
        patient_covariates=cohort["covariates"],
        failures=_failures([*bad_patients, *bad_treatments]),
        warnings=input_warnings(patients_typed, treatments_typed, lesions),
        settings=settings,
    )


def input_warnings(patients: pd.DataFrame, treatments: pd.DataFrame, lesions: pd.DataFrame | None) -> pd.DataFrame:
    """Suspicious but readable inputs (``warnings`` table): they change results without being errors.

    - ``kps_not_tens``: a KPS that is not a multiple of 10 (the scale has steps of 10; the indices place it
      by the nearest bound the papers state);
    - ``treated_lesion_unknown``: a treatment names a lesion the lesion table does not hold for that patient
      (its BED cannot join the lesion's local control);
    - ``no_baseline_lesions``: a patient of the patients table without any lesion in the lesion table
      (the imaging covariates and the indices that need them are missing).
    """
    rows = []
    for rec in patients.to_dict("records"):
        kps = rec.get("kps")
        if not blank(kps) and float(kps) % 10:
            rows.append({"patient_id": rec["patient_id"], "code": "kps_not_tens",
                         "message": f"KPS {kps:g} is not a multiple of 10; the indices place it by the papers' bounds"})
    known = set()
    if lesions is not None and len(lesions) and "lesion_id" in lesions.columns:
        known = set(zip(lesions["patient_id"].astype(str), lesions["lesion_id"].astype(str)))
        with_lesions = {p for p, _ in known}
        for pid in patients["patient_id"]:
            if str(pid) not in with_lesions:
                rows.append({"patient_id": pid, "code": "no_baseline_lesions",
                             "message": "no lesion in the lesion table: imaging covariates and the indices "
                                        "that need them are missing"})
        for rec in treatments.to_dict("records"):
            lid = rec.get("lesion_id")
            if not blank(lid) and (str(rec["patient_id"]), str(lid)) not in known:
                rows.append({"patient_id": rec["patient_id"], "code": "treated_lesion_unknown",
                             "message": f"treatment of {rec.get('date')} names lesion {lid}, which the lesion "
                                        "table does not hold for this patient; check the lesion ids"})
    return WARNINGS.conform(pd.DataFrame(rows), keep_extra=False) if rows else WARNINGS.empty()


def _failures(errors: list[RespondError]) -> pd.DataFrame:
    if not errors:
        return FAILURES.empty()
    rows = [{"stage": "outcomes", **e.as_record()} for e in errors]
    return FAILURES.conform(pd.DataFrame(rows), keep_extra=False)


def _cohort(patients: pd.DataFrame, lesions: pd.DataFrame | None, settings: OutcomeSettings) -> dict:
    """Per patient: covariates, index rows, and one wide frame (patients + imaging + classes + times)."""
    imaging = imaging_covariates(lesions)
    covariates = patient_covariates(patients, imaging, settings)
    wide = patients.merge(imaging, on="patient_id", how="left") if len(patients) else patients.assign(
        **{c: None for c in imaging.columns if c != "patient_id"})
    index_rows = []
    for rec in wide.to_dict("records"):
        inputs = {k: (None if blank(v) else v) for k, v in rec.items()}
        for name in INDEX_NAMES:
            result = INDEX_FUNCTIONS[name](inputs, settings.groupings[name])
            index_rows.append({"patient_id": rec["patient_id"], "index": name, "score": result.score,
                               "class": result.klass, "inputs": result.inputs_text,
                               "missing": "; ".join(result.missing) or None})
    indices = INDICES.conform(pd.DataFrame(index_rows, columns=INDICES.names), keep_extra=False)
    classes = indices.pivot(index="patient_id", columns="index", values="class").reset_index() if len(indices) \
        else pd.DataFrame(columns=["patient_id", *INDEX_NAMES])
    times = patient_times(patients, settings)
    flags = covariates.drop(columns=[c for c in ("n_brain_lesions", "total_brain_volume_cm3", "largest_lesion_cm3")])
    wide = wide.merge(classes, on="patient_id", how="left").merge(times, on="patient_id", how="left")
    wide = wide.merge(flags.rename(columns={c: f"cov_{c}" for c in flags.columns if c != "patient_id"}),
                      on="patient_id", how="left")
    analysis = covariates.drop(columns=[c for c in covariates.columns if c.endswith("_class") or c in (
        "os_months", "os_event", "css_event")]).merge(
        times.rename(columns={"time_months": "os_months"})[["patient_id", "os_months", "os_event", "css_event"]],
        on="patient_id", how="left").merge(
        classes.rename(columns={n: f"{n}_class" for n in INDEX_NAMES}), on="patient_id", how="left")
    analysis = PATIENT_COVARIATES.conform(analysis, keep_extra=False)
    return {"indices": indices, "covariates": analysis, "wide": wide, "times": times}


def _group_columns(settings: OutcomeSettings) -> list[tuple[str, list[str] | None]]:
    out: list[tuple[str, list[str] | None]] = [(n, [label for label, _ in settings.groupings[n]])
                                               for n in INDEX_NAMES]
    return out + [(c, ["true", "false"]) for c in settings.univariate]


def _flag_column(wide: pd.DataFrame, name: str) -> str:
    """Column of ``wide`` holding a group variable: an index class, or a covariate as ``cov_<name>``."""
    return f"cov_{name}" if f"cov_{name}" in wide.columns else name


def _with(frame: pd.DataFrame, names: Iterable[str], extra: Iterable[str] = ()) -> pd.DataFrame:
    """``time_months``, ``event`` and the named group variables / covariates under their own names."""
    data = {"time_months": frame["time_months"].to_numpy(), "event": frame["event"].to_numpy()}
    for name in [*names, *extra]:
        data[name] = frame[_flag_column(frame, name)].to_numpy()
    return pd.DataFrame(data)


def _patient_endpoint_rows(frame: pd.DataFrame, settings: OutcomeSettings, endpoint: str,
                           criteria: str | None) -> list[dict]:
    rows = km_rows(frame["time_months"], frame["event"], settings, endpoint=endpoint, criteria=criteria)
    rows.append(followup_row(frame["time_months"], frame["event"], settings, endpoint=endpoint, criteria=criteria))
    for column, order in _group_columns(settings):
        if _flag_column(frame, column) in frame.columns:
            rows += grouped_rows(_with(frame, [column]), column, settings, endpoint=endpoint,
                                 criteria=criteria, order=order)
    return rows


def _patient_frames(cohort: dict, events: pd.DataFrame | None, settings: OutcomeSettings):
    """(endpoint, criteria, frame with time_months, event and the patient's classes and covariates)."""
    wide = cohort["wide"]
    timed = wide[wide["time_months"].notna()]
    for endpoint in ("os", "css"):
        if endpoint == "css" and not _has_causes(wide):
            continue
        if endpoint in settings.endpoints:
            yield endpoint, None, timed.assign(event=timed[f"{endpoint}_event"].astype(bool))
    if events is not None and len(events) and "ipfs" in settings.endpoints:
        ipfs = events[events["endpoint"] == "ipfs"]
        for criteria, rows in ipfs.groupby("criteria", sort=False):
            frame = pd.DataFrame({"patient_id": rows["patient_id"].to_numpy(),
                                  "time_months": rows["time_days"].astype(float).to_numpy() / DAYS_PER_MONTH,
                                  "event": rows["event"].map(_truth).to_numpy()})
            extra = wide.drop(columns=[c for c in ("time_months",) if c in wide.columns])
            yield "ipfs", criteria, frame.merge(extra, on="patient_id", how="left")


def _has_causes(wide: pd.DataFrame) -> bool:
    """CSS needs causes of death: without any, it would silently equal OS."""
    return "cause_of_death" in wide.columns and wide["cause_of_death"].map(lambda v: not blank(v)).any()


def _truth(value) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def _lesion_covariate_frame(lesions: pd.DataFrame | None, doses: pd.DataFrame) -> pd.DataFrame:
    volume = lesion_covariates(lesions)
    bed = lesion_bed(doses)
    if volume.empty and bed.empty:
        return pd.DataFrame(columns=["patient_id", "lesion_id", "lesion_volume_cm3", "bed_gy"])
    return volume.merge(bed, on=["patient_id", "lesion_id"], how="outer")


def _lesion_frames(events: pd.DataFrame | None, lesion_frame: pd.DataFrame, settings: OutcomeSettings):
    if events is None or not len(events) or "local_control" not in settings.endpoints:
        return
    local = events[events["endpoint"] == "local_control"]
    for criteria, rows in local.groupby("criteria", sort=False):
        frame = pd.DataFrame({"patient_id": rows["patient_id"].astype(str).to_numpy(),
                              "lesion_id": rows["lesion_id"].astype(str).to_numpy(),
                              "time_months": rows["time_days"].astype(float).to_numpy() / DAYS_PER_MONTH,
                              "event": rows["event"].map(_truth).to_numpy()})
        covs = lesion_frame.assign(patient_id=lesion_frame["patient_id"].astype(str),
                                   lesion_id=lesion_frame["lesion_id"].astype(str))
        yield criteria, frame.merge(covs, on=["patient_id", "lesion_id"], how="left")


def _outcome_rows(cohort: dict, events, lesion_frame, settings: OutcomeSettings) -> pd.DataFrame:
    rows: list[dict] = []
    times = cohort["times"]
    if len(times) and times["time_months"].isna().all() and {"os", "css"} & set(settings.endpoints):
        rows.append({"endpoint": "os", "statistic": "median", "n": 0,
                     "note": "no patient has treatment_start and death_date or last_followup"})
    if "css" in settings.endpoints and len(times) and not _has_causes(cohort["wide"]):
        rows.append({"endpoint": "css", "statistic": "median", "n": 0,
                     "note": "no cause_of_death in the patients table: cancer-specific survival not computed"})
    for endpoint, criteria, frame in _patient_frames(cohort, events, settings):
        if len(frame):
            rows += _patient_endpoint_rows(frame, settings, endpoint, criteria)
    for criteria, frame in _lesion_frames(events, lesion_frame, settings):
        rows += km_rows(frame["time_months"], frame["event"], settings, endpoint="local_control", criteria=criteria)
        rows.append(followup_row(frame["time_months"], frame["event"], settings, endpoint="local_control",
                                 criteria=criteria))
    return OUTCOMES.conform(pd.DataFrame(rows, columns=OUTCOMES.names), keep_extra=False) if rows \
        else OUTCOMES.empty()


def _cox_rows(cohort: dict, events, lesion_frame, settings: OutcomeSettings) -> pd.DataFrame:
    rows: list[dict] = []
    options = {"confidence_level": settings.confidence_level, "ph_alpha": settings.ph_alpha}
    for endpoint, criteria, frame in _patient_frames(cohort, events, settings):
        if not len(frame):
            continue
        flags = _with(frame, dict.fromkeys(settings.univariate + settings.multivariate))
        for covariate in settings.univariate:
            rows += fit_cox(flags, [covariate], endpoint=endpoint, criteria=criteria, model="univariate",
                            level="patient", **options)
        if settings.multivariate:
            rows += fit_cox(flags, list(settings.multivariate), endpoint=endpoint, criteria=criteria,
                            model="multivariate", level="patient", **options)
    for criteria, frame in _lesion_frames(events, lesion_frame, settings):
        for covariate in settings.lesion_models:
            rows += fit_cox(frame, [covariate], endpoint="local_control", criteria=criteria, model="univariate",
                            level="lesion", **options)
        if len(settings.lesion_models) > 1:
            rows += fit_cox(frame, list(settings.lesion_models), endpoint="local_control", criteria=criteria,
                            model="multivariate", level="lesion", **options)
    return COX.conform(pd.DataFrame(rows, columns=COX.names), keep_extra=False) if rows else COX.empty()


def _incidence(events, patients: pd.DataFrame, settings: OutcomeSettings) -> pd.DataFrame:
    if events is None or not len(events) or "local_control" not in settings.endpoints:
        return CUMULATIVE_INCIDENCE.empty()
    deaths = {rec["patient_id"]: to_date(rec.get("death_date")) for rec in patients.to_dict("records")
              if not blank(rec.get("death_date"))}
    rows: list[dict] = []
    local = events[events["endpoint"] == "local_control"]
    for criteria, group in local.groupby("criteria", sort=False):
        rows += incidence_rows(competing_frame(group, deaths), settings, criteria=criteria)
    return CUMULATIVE_INCIDENCE.conform(pd.DataFrame(rows), keep_extra=False) if rows \
        else CUMULATIVE_INCIDENCE.empty()


class _CallableModule(types.ModuleType):
    """``respond.outcomes`` is both this package and :func:`compute_outcomes` (like ``respond.measure``)."""

    def __call__(self, *args, **kwargs) -> OutcomeResult:
        return compute_outcomes(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

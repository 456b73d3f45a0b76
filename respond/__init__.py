"""respond — imaging-based tumour response assessment (RECIST 1.1, RANO-BM).

Public API::

    respond.assess("manifest.csv", out="results/", patients="patients.csv")   # the whole chain
    respond.evaluate(lesions, clinical=None, criteria=None, config=None, patients=None, adjudications=None)
    respond.evaluate_sdtm(tu, tr, rs=None, ...)      # CDISC SDTM tumour domains in
    respond.load_criteria("recist1.1")
    respond.measure(mask, image=None, lesions="components", ...)   # lesion table of one scan
    respond.track("manifest.csv", out="out/")        # register + match a patient series → lesion table
    respond.km(result.events, "ipfs", "rano-bm")     # lifelines KaplanMeierFitter
    respond.summarize(out_dir_or_result, rate_times_months=[6, 12], death_is_event=False)
    respond.outcomes(result, patients=patients_frame, treatments=treatments_frame)   # OS, indices, Cox, BED
    respond.plots.waterfall(result)                  # figures (matplotlib Figures)

Names are imported on first use, so that ``import respond`` (and every
worker process of a batch) starts fast.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "Criteria": ("respond.config", "Criteria"),
    "load_criteria": ("respond.config", "load_criteria"),
    "Evaluation": ("respond.criteria", "Evaluation"),
    "evaluate": ("respond.pipeline.evaluate", "evaluate"),
    "evaluate_sdtm": ("respond.pipeline.evaluate", "evaluate_sdtm"),
    "assess": ("respond.pipeline", "assess"),
    "Assessment": ("respond.pipeline", "Assessment"),
    "km": ("respond.endpoints", "km"),
    "summarize": ("respond.endpoints", "summarize"),
    "track": ("respond.lesions", "track"),
}

__all__ = sorted(_API) + ["measure", "outcomes", "plots", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("plots", "measure", "outcomes"):  # callable packages: measure_mask, compute_outcomes
        return importlib.import_module(f"respond.{name}")
    if name in _API:
        module, attribute = _API[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'respond' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__

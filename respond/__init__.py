"""respond — imaging-based tumour response assessment (RECIST 1.1, RANO-BM).

Public API::

    respond.evaluate(lesions, clinical=None, criteria=None, config=None, patients=None, adjudications=None)
    respond.load_criteria("recist1.1")
    respond.km(result.events, "ipfs", "rano-bm")     # lifelines KaplanMeierFitter
    respond.summarize(out_dir_or_result, rate_times_months=[6, 12], death_is_event=False)
    respond.track("manifest.csv", out="out/")        # register + match a patient series → lesion table
"""
from __future__ import annotations

__version__ = "0.1.0"

from respond.config import Criteria, load_criteria  # noqa: E402
from respond.criteria import Evaluation, evaluate  # noqa: E402
from respond.endpoints import km, summarize  # noqa: E402
from respond.lesions import track  # noqa: E402

__all__ = ["Criteria", "Evaluation", "evaluate", "km", "load_criteria", "summarize", "track", "__version__"]

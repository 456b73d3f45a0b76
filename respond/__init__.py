"""respond — imaging-based tumour response assessment (RECIST 1.1, RANO-BM).

Public API::

    respond.evaluate(lesions, clinical=None, criteria=None, config=None, patients=None)
    respond.load_criteria("recist1.1")
"""
from __future__ import annotations

__version__ = "0.1.0"

from respond.config import Criteria, load_criteria  # noqa: E402
from respond.criteria import Evaluation, evaluate  # noqa: E402

__all__ = ["Criteria", "Evaluation", "evaluate", "load_criteria", "__version__"]

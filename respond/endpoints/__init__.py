"""Clinical endpoints from the response tables: iPFS, local control, rates, agreement.

>>> result = respond.evaluate("lesions.csv", patients="patients.csv")   # doctest: +SKIP
>>> result.events, result.summary, result.agreement                     # doctest: +SKIP
>>> respond.km(result.events, "ipfs", "rano-bm").median_survival_time_   # doctest: +SKIP

Definitions (and the preset keys that change them) are in the modules:
:mod:`~respond.endpoints.events` (iPFS events, censoring, patterns),
:mod:`~respond.endpoints.local_control` (lesion-level local failure,
confirmation, adjudications), :mod:`~respond.endpoints.rates` (binomial
intervals), :mod:`~respond.endpoints.survival` (Kaplan–Meier through
lifelines), :mod:`~respond.endpoints.agreement` (cross-table and kappa).

Rates (:data:`respond.tables.SUMMARY`), per criteria:

- ``iorr``: best overall response CR or PR; ``dcr``: CR, PR, SD or
  NON-CR/NON-PD; ``ilc_rate``: no intracranial PD (no progression date) —
  each over the response population (``endpoints.response_population``:
  patients with ≥ 1 target lesion at baseline, or every assessed patient;
  NE counts as a non-response), with a Clopper–Pearson and a Jeffreys interval.
- ``ipfs_rate`` / ``local_control_rate`` at ``endpoints.rate_times_months``
  and ``ipfs_median`` / ``local_control_median`` (months), Kaplan–Meier.
- ``pattern_<pattern>``: share of iPFS events with that pattern.

A patient in ``failures`` is left out of every endpoint.
"""
from respond.endpoints.agreement import crosstab
from respond.endpoints.compute import EndpointResult, compute_endpoints, summary_table
from respond.endpoints.survival import DAYS_PER_MONTH, km

__all__ = ["DAYS_PER_MONTH", "EndpointResult", "compute_endpoints", "crosstab", "km", "summary_table"]

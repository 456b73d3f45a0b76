"""Options that travel together through the pipeline, as frozen dataclasses.

Like :class:`~respond.registration.RegistrationSettings`, each groups the
keywords one stage needs, so that they are passed as one value instead of
being threaded one by one through every layer. The names of the fields are
the keyword names of :func:`respond.assess` and (with ``-`` for ``_``) the
command-line options of ``measure``, ``track`` and ``assess``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Final

#: How lesions are found in a mask.
LESION_MODES: Final = ("components", "labels")
#: Registrations of follow-ups to the baseline.
TRANSFORMS: Final = ("rigid", "affine")
#: Executors of the per-patient jobs.
EXECUTORS: Final = ("local", "dask")


def check_lesions_and_transform(lesions: str, transform: str) -> None:
    """ValueError unless ``lesions`` is one of :data:`LESION_MODES` and ``transform`` one of :data:`TRANSFORMS`."""
    if lesions not in LESION_MODES:
        raise ValueError(f"lesions must be 'components' or 'labels', got {lesions!r}")
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be 'rigid' or 'affine', got {transform!r}")


@dataclass(frozen=True)
class ImagingOptions:
    """How each patient's scans are read, registered and tracked.

    ``lesions``: ``components`` (connected components, matched across scans)
    or ``labels`` (label values are the reader's lesion ids). ``transform``:
    ``rigid`` or ``affine``. The ``allow_*`` flags relax one strict check each
    (all off by default): ``allow_resample_mask`` resamples a mask whose grid
    differs from its image (nearest neighbour); ``allow_float_mask`` accepts
    float-typed masks whose values are whole numbers; ``allow_implausible``
    uses registrations that fail the plausibility checks;
    ``allow_uneven_slices`` accepts DICOM series with missing slices.
    ``empty_baseline``: ``assess`` (an empty baseline mask is a lesion-free
    baseline, with the warning ``empty_baseline_mask``) or ``fail``.
    """

    lesions: str = "components"
    transform: str = "rigid"
    allow_resample_mask: bool = False
    allow_float_mask: bool = False
    allow_implausible: bool = False
    allow_uneven_slices: bool = False
    empty_baseline: str = "assess"

    def __post_init__(self) -> None:
        if self.empty_baseline not in ("assess", "fail"):
            raise ValueError(f"empty_baseline must be 'assess' or 'fail', got {self.empty_baseline!r}")
        check_lesions_and_transform(self.lesions, self.transform)

    def as_dict(self) -> dict[str, Any]:
        """The options as a plain dict (recorded in ``run.json`` and in each patient's resume key)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class BatchOptions:
    """How the per-patient jobs run (see :func:`respond.batch.run_jobs`).

    ``workers`` processes at once (``executor="local"``) or a Dask cluster
    (``executor="dask"``, ``scheduler`` an address or a
    ``dask.distributed.Client``; a local cluster when None). ``timeout_s``:
    seconds one patient may take. ``resume`` reuses the stored results of
    unchanged patients; ``retry_failed`` (with ``resume``) runs failed ones
    again. ``progress``: a progress bar (default: on a terminal only).
    """

    workers: int = 1
    executor: str = "local"
    scheduler: Any = None
    timeout_s: float | None = None
    resume: bool = False
    retry_failed: bool = False
    progress: bool | None = None

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f"unknown executor {self.executor!r}; use 'local' or 'dask'")


@dataclass(frozen=True)
class ManifestOptions:
    """How the manifest is read: ``organ`` of rows without one; ``allow_outside_paths`` accepts
    paths that lead outside the manifest's folder."""

    organ: str | None = None
    allow_outside_paths: bool = False


#: Keyword spellings accepted by :func:`respond.assess` for the option groups, by group.
KEYWORDS: Final = {
    "imaging": {f.name for f in dataclasses.fields(ImagingOptions)},
    "batch": {f.name for f in dataclasses.fields(BatchOptions)},
    "manifest": {f.name for f in dataclasses.fields(ManifestOptions)},
}
#: Older keyword spellings and the option they mean.
ALIASES: Final = {"allow_outside": "allow_outside_paths"}


def split_keywords(keywords: dict[str, Any], *, imaging: ImagingOptions | None, batch: BatchOptions | None,
                   manifest: ManifestOptions | None) -> tuple[ImagingOptions, BatchOptions, ManifestOptions]:
    """The three option groups from the keyword arguments of :func:`respond.assess`.

    A group given as a dataclass is used as is; the individual keywords
    (``workers=2``, ``allow_float_mask=True``, ...) override its fields.
    An unknown keyword is a TypeError, as for any function.
    """
    given = {ALIASES.get(k, k): v for k, v in keywords.items()}
    unknown = sorted(set(given) - set().union(*KEYWORDS.values()))
    if unknown:
        raise TypeError(f"assess() got unexpected keyword argument(s): {', '.join(unknown)}")
    groups = []
    for name, base, cls in (("imaging", imaging, ImagingOptions), ("batch", batch, BatchOptions),
                            ("manifest", manifest, ManifestOptions)):
        fields = {k: v for k, v in given.items() if k in KEYWORDS[name]}
        groups.append(dataclasses.replace(base, **fields) if base is not None else cls(**fields))
    return groups[0], groups[1], groups[2]

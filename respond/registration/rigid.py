"""Register a follow-up scan to the patient's baseline (SimpleITK).

The transform returned maps **baseline (fixed) points to follow-up (moving)
points**, in LPS mm — ITK's convention, so resampling a follow-up image or mask
onto the baseline grid uses it directly, and a follow-up point is brought into
the baseline frame with :meth:`RegistrationResult.to_baseline`.

With images: rigid (default) or affine, Mattes mutual information, a
multi-resolution pyramid built on isotropic grids (``level_spacings_mm``, so
thick-slice and non-axial acquisitions get the same treatment), initialised by
the images' centres of mass. Without images (either missing): the lesion masks
are aligned through their signed distance maps (mean squares), starting from
the scanner frame; with a mask empty there is nothing to align on and the
identity is returned — both are said in ``method`` and ``notes``.

A registration is never silently trusted: ``problems`` lists every failed
plausibility check (huge rotation, scale out of range, metric diverged or not
finite) and :attr:`RegistrationResult.plausible` is false when there is any.
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Final, Iterator, Literal

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from respond.errors import RegistrationError

TransformKind = Literal["rigid", "affine"]

#: A rotation beyond this many degrees between two scans of one patient's head
#: or body is implausible (repositioning rarely exceeds 15–20°).
MAX_ROTATION_DEG: Final = 30.0
#: An affine scale factor further than this from 1 is implausible for one patient.
MAX_SCALE_DEVIATION: Final = 0.2
#: The final metric may be worse than the initial one by this fraction of its
#: magnitude (sampling noise) before the registration counts as diverged.
METRIC_DIVERGENCE_TOLERANCE: Final = 0.02
#: Without images, a rotation is fitted only when both masks hold at least this many lesions.
MIN_COMPONENTS_FOR_ROTATION: Final = 3
#: Distance maps of masks are clamped to ±this many mm before alignment: the capture range of a
#: lesion. Wider lets a lone remaining lesion be pulled onto another one (seen at 30 mm); at 15 mm the
#: synthetic series aligned within 1 mm and the two-sphere case kept its lesions apart.
DISTANCE_CLAMP_MM: Final = 15.0


@dataclass(frozen=True)
class RegistrationSettings:
    """Settings of a registration; the defaults are the ones benchmarked.

    ``level_spacings_mm`` are the isotropic grid spacings of the pyramid levels,
    coarse to fine (a level is never finer than the fixed image's finest
    spacing); ``samples_per_level`` the number of random metric samples per
    level; ``iterations`` the maximum optimiser iterations per level;
    ``relaxation_factor`` how much the regular-step gradient descent shortens
    its step when the direction reverses on the coarse levels (0.5 stopped
    short of 10° rotations on the synthetic series; 0.9 did not), and
    ``final_relaxation_factor`` on the finest level (which starts close to the
    solution and is the expensive one);
    ``min_step_fraction`` the smallest step, as a fraction of the level's
    spacing, at which a level stops (0.01: 0.02 mm on a 2 mm level).
    ``mask_transform`` is the transform of the mask-only fallback:
    ``auto`` (default) fits the requested kind when both masks hold at least
    :data:`MIN_COMPONENTS_FOR_ROTATION` lesions and a translation otherwise
    (a few blobs that shrink, vanish and appear do not determine a rotation:
    on two spheres, one of which vanished, a rigid fit rotated 34°);
    ``translation`` always; ``requested`` always the requested kind.
    ``threads`` limits SimpleITK's threads for this registration (None: the
    global default).
    ``pyramid``: ``"shrink"`` (default) builds a level whose spacing is a
    whole multiple (≥ 2) of the image's by averaging blocks of voxels
    (``BinShrink``, itself an anti-aliasing filter) before the linear
    resampling, ``"gaussian"`` always smooths the full image first (about
    twice the time of a whole registration's optimisation on a 1 mm head);
    other levels use the Gaussian either way.
    ``metric_mask``: ``"foreground"`` (default) draws the metric's samples
    from the baseline's voxels above a tenth of its 99th intensity percentile
    (the head, not the air around it, which carries no information and
    whose noise only dilutes the histogram); ``"none"`` from the whole grid.
    On the 256×256×180 benchmark pairs, one thread, the two together took
    the time per pair from 4.3–4.8 s to 2.7–2.9 s of CPU and the largest
    error at the lesions from 0.66 to 0.06 mm; with the samples drawn from
    the head only, 20,000 per level (``samples_per_level``, was 40,000 over
    the whole grid) take it to 1.6–1.7 s with errors ≤ 0.10 mm
    (10,000: 1.0–1.2 s, ≤ 0.12 mm; see benchmarks/README.md).
    ``affine_samples_per_level``: an affine transform has 12 parameters
    against the rigid 6; with 20,000 samples its finest level diverged in 2
    of 5 runs on the synthetic series (once ending with an 8 % scale error),
    with 40,000 it converged in 6 of 6 (about 1.5 s CPU per pair).
    ``coarse_min_step_fraction`` (None: ``min_step_fraction``) stops the
    coarse levels earlier; ``finest_samples`` (None: ``samples_per_level``)
    sets the finest level's samples apart. Neither is used by default: a
    coarse stop at 0.05 left the sagittal pair 1.7 mm off. ``max_translation_mm`` (None: unchecked) bounds the
    displacement of the baseline's centre.
    """

    level_spacings_mm: tuple[float, ...] = (8.0, 4.0, 2.0)
    samples_per_level: int = 20_000
    affine_samples_per_level: int = 40_000
    iterations: int = 200
    histogram_bins: int = 32
    relaxation_factor: float = 0.9
    final_relaxation_factor: float = 0.8
    min_step_fraction: float = 0.01
    seed: int = 20240110
    threads: int | None = None
    mask_transform: str = "auto"
    max_rotation_deg: float = MAX_ROTATION_DEG
    max_scale_deviation: float = MAX_SCALE_DEVIATION
    max_translation_mm: float | None = None
    metric_divergence_tolerance: float = METRIC_DIVERGENCE_TOLERANCE
    pyramid: str = "shrink"
    metric_mask: str = "foreground"
    coarse_min_step_fraction: float | None = None
    finest_samples: int | None = None


DEFAULT_SETTINGS: Final = RegistrationSettings()


@dataclass(frozen=True)
class RegistrationResult:
    """A follow-up → baseline registration and its quality figures.

    ``transform`` maps baseline points to follow-up points (LPS mm).
    ``method``: ``image`` (Mattes MI on the images), ``masks`` (distance maps of
    the lesion masks), ``identity`` (nothing to align on). ``final_metric`` and
    ``initial_metric`` are the metric at the finest level after and before
    optimisation (lower is better; Mattes MI is negative). ``overlap`` is the
    Dice coefficient of the two lesion masks in the baseline frame (NaN when
    not applicable; lesions change between scans, so it is a figure, not a
    check). ``rotation_deg`` is the rotation angle, ``translation_mm`` the
    displacement of the baseline image's centre, ``scale_deviation`` the
    largest |scale − 1| (0 for rigid).
    """

    transform: sitk.Transform
    kind: str
    method: str
    metric: str
    initial_metric: float
    final_metric: float
    iterations: int
    stop_condition: str
    rotation_deg: float
    translation_mm: float
    scale_deviation: float
    overlap: float
    seconds: float
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def plausible(self) -> bool:
        """No plausibility check failed."""
        return not self.problems

    def to_baseline(self, points_mm: Any) -> np.ndarray:
        """Follow-up points (N, 3) LPS mm → the same tissue's points in the baseline frame."""
        inverse = self.transform.GetInverse()
        pts = np.atleast_2d(np.asarray(points_mm, dtype=float))
        return np.array([inverse.TransformPoint(tuple(map(float, p))) for p in pts]).reshape(pts.shape)

    def to_followup(self, points_mm: Any) -> np.ndarray:
        """Baseline points (N, 3) LPS mm → follow-up points."""
        pts = np.atleast_2d(np.asarray(points_mm, dtype=float))
        return np.array([self.transform.TransformPoint(tuple(map(float, p))) for p in pts]).reshape(pts.shape)

    def as_record(self) -> dict[str, Any]:
        """The quality figures as one row of the ``registrations`` table (without patient/date/file)."""
        return {
            "method": self.method,
            "transform_type": self.kind,
            "metric": self.metric,
            "initial_metric": self.initial_metric,
            "final_metric": self.final_metric,
            "iterations": self.iterations,
            "rotation_deg": self.rotation_deg,
            "translation_mm": self.translation_mm,
            "scale_deviation": self.scale_deviation,
            "overlap": self.overlap,
            "plausible": self.plausible,
            "problems": "; ".join(self.problems),
            "notes": "; ".join(self.notes + ((f"stop: {self.stop_condition}",) if self.stop_condition else ())),
            "seconds": self.seconds,
        }


def identity_result(*, method: str = "identity", notes: tuple[str, ...] = ()) -> RegistrationResult:
    """The identity 'registration' (baseline, or nothing to align on)."""
    return RegistrationResult(
        transform=sitk.Euler3DTransform(), kind="identity", method=method, metric="", initial_metric=math.nan,
        final_metric=math.nan, iterations=0, stop_condition="", rotation_deg=0.0, translation_mm=0.0,
        scale_deviation=0.0, overlap=math.nan, seconds=0.0, notes=notes,
    )


# --------------------------------------------------------------------------- helpers


def _physical_centre(image: sitk.Image) -> tuple[float, float, float]:
    size = np.asarray(image.GetSize(), float)
    return tuple(image.TransformContinuousIndexToPhysicalPoint(tuple((size - 1) / 2.0)))  # type: ignore[return-value]


def _level_grid(image: sitk.Image, spacing_mm: float) -> sitk.Image:
    """An isotropic grid of ``spacing_mm`` with ``image``'s direction covering its extent."""
    extent = (np.asarray(image.GetSize(), float)) * np.asarray(image.GetSpacing())
    size = np.maximum(1, np.ceil(extent / spacing_mm).astype(int))
    d = np.asarray(image.GetDirection(), float).reshape(3, 3)
    centre = np.asarray(_physical_centre(image))
    origin = centre - d @ ((size - 1) * spacing_mm / 2.0)
    grid = sitk.Image([int(s) for s in size], sitk.sitkFloat32)
    grid.SetSpacing([float(spacing_mm)] * 3)
    grid.SetDirection(image.GetDirection())
    grid.SetOrigin([float(v) for v in origin])
    return grid


def _downsample(image: sitk.Image, spacing_mm: float, threads: int | None, method: str = "gaussian") -> sitk.Image:
    """Gaussian anti-aliasing then linear resampling onto an isotropic grid."""
    spacing = np.asarray(image.GetSpacing(), float)
    factors = np.rint(spacing_mm / spacing)
    if method == "shrink" and np.all(factors >= 2) and np.allclose(factors * spacing, spacing_mm, rtol=1e-6):
        image = sitk.BinShrink(image, [int(f) for f in factors])
        spacing = np.asarray(image.GetSpacing(), float)
    sigma = 0.5 * np.sqrt(np.clip(spacing_mm**2 - spacing**2, 0.0, None))
    smoother = sitk.SmoothingRecursiveGaussianImageFilter()
    if threads:
        smoother.SetNumberOfThreads(threads)
    if np.any(sigma > 0.1 * spacing):
        smoother.SetSigma([float(max(s, 1e-3)) for s in sigma])
        image = smoother.Execute(image)
    resampler = sitk.ResampleImageFilter()
    if threads:
        resampler.SetNumberOfThreads(threads)
    resampler.SetReferenceImage(_level_grid(image, spacing_mm))
    resampler.SetInterpolator(sitk.sitkLinear)
    resampler.SetOutputPixelType(sitk.sitkFloat32)
    return resampler.Execute(image)


def _pyramid(image: sitk.Image, levels_mm: tuple[float, ...], threads: int | None,
             method: str = "gaussian") -> list[sitk.Image]:
    """Images of every level, coarse to fine; coarse levels are derived from the finest."""
    image = sitk.Cast(image, sitk.sitkFloat32)
    out: list[sitk.Image] = []
    previous = image
    for spacing in sorted(levels_mm):  # fine → coarse
        previous = _downsample(previous, spacing, threads, method)
        out.append(previous)
    return out[::-1]


def _levels(fixed: sitk.Image, settings: RegistrationSettings) -> tuple[float, ...]:
    finest = float(min(fixed.GetSpacing()))
    levels = sorted({max(float(s), finest) for s in settings.level_spacings_mm}, reverse=True)
    return tuple(levels)


def rotation_and_scale(transform: sitk.Transform) -> tuple[float, float]:
    """Rotation angle (degrees) and largest |scale − 1| of a rigid or affine transform."""
    matrix = np.asarray(transform.GetMatrix() if hasattr(transform, "GetMatrix") else np.eye(3).ravel(),
                        float).reshape(3, 3)
    u, s, vt = np.linalg.svd(matrix)
    rotation = u @ vt
    if np.linalg.det(rotation) < 0:  # a reflection is as implausible as it gets
        return 180.0, float(np.abs(s - 1.0).max())
    cos = (np.trace(rotation) - 1.0) / 2.0
    return math.degrees(math.acos(float(np.clip(cos, -1.0, 1.0)))), float(np.abs(s - 1.0).max())


def _as_single_transform(transform: sitk.Transform) -> sitk.Transform:
    """Unwrap a registration's output into a plain Euler3D/Affine transform."""
    if transform.GetName() == "CompositeTransform":
        composite = sitk.CompositeTransform(transform)
        if composite.GetNumberOfTransforms() == 1:
            transform = composite.GetNthTransform(0)
    name = transform.GetName()
    if name == "Euler3DTransform":
        return sitk.Euler3DTransform(transform)
    if name == "AffineTransform":
        return sitk.AffineTransform(transform)
    if name == "TranslationTransform":
        return sitk.TranslationTransform(transform)
    return transform


def warp_labels(labels: sitk.Image, reference: sitk.Image, transform: sitk.Transform, *,
                threads: int | None = None) -> sitk.Image:
    """Resample a label image onto ``reference``'s grid through ``transform`` by nearest neighbour.

    ``transform`` maps reference points to ``labels`` points (e.g. a
    :class:`RegistrationResult`'s transform brings a follow-up mask into the
    baseline grid). Labels are never interpolated.
    """
    resampler = sitk.ResampleImageFilter()
    if threads:
        resampler.SetNumberOfThreads(threads)
    resampler.SetReferenceImage(reference)
    resampler.SetTransform(transform)
    resampler.SetInterpolator(sitk.sitkNearestNeighbor)
    resampler.SetDefaultPixelValue(0)
    resampler.SetOutputPixelType(labels.GetPixelID())
    return resampler.Execute(labels)


def mask_dice(fixed_mask: sitk.Image, moving_mask: sitk.Image, transform: sitk.Transform) -> float:
    """Dice of two masks (non-zero = inside) in the fixed frame; NaN when both are empty."""
    fixed = sitk.GetArrayViewFromImage(fixed_mask) != 0
    warped = warp_labels(moving_mask, fixed_mask, transform)  # keep the image alive while its pixels are read
    moved = sitk.GetArrayViewFromImage(warped) != 0
    total = int(fixed.sum()) + int(moved.sum())
    if total == 0:
        return math.nan
    return 2.0 * int(np.count_nonzero(fixed & moved)) / total


def _foreground(image: sitk.Image) -> sitk.Image:
    """The voxels above a tenth of the image's 99th percentile (the head, not the air around it)."""
    values = sitk.GetArrayViewFromImage(image)
    threshold = 0.1 * float(np.percentile(values[:: 7].ravel(), 99))
    return sitk.Cast(image > threshold, sitk.sitkUInt8)


def _distance_map(mask: sitk.Image) -> sitk.Image:
    binary = sitk.Cast(mask != 0, sitk.sitkUInt8)
    distance = sitk.SignedMaurerDistanceMap(binary, insideIsPositive=False, squaredDistance=False,
                                            useImageSpacing=True)
    return sitk.Clamp(distance, sitk.sitkFloat32, -DISTANCE_CLAMP_MM, DISTANCE_CLAMP_MM)


# --------------------------------------------------------------------------- registration


def _samples(settings: RegistrationSettings, initial: sitk.Transform, finest: bool) -> int:
    """Metric samples of one level: more for an affine transform (12 parameters; see the settings' docstring)."""
    samples = settings.samples_per_level
    if isinstance(initial, sitk.AffineTransform):
        samples = max(samples, settings.affine_samples_per_level)
    if finest and settings.finest_samples:
        samples = settings.finest_samples
    return samples


def _run_levels(fixed_levels: list[sitk.Image], moving_levels: list[sitk.Image], initial: sitk.Transform,
                metric: str, settings: RegistrationSettings, *, keep_better: bool = False,
                ) -> tuple[sitk.Transform, float, float, int, str]:
    """Optimise level by level; return transform, initial and final metric at the finest level, iterations, stop.

    With ``keep_better``, a finest level that ends worse than it started
    (by the metric) is undone: the transform it started from is returned, and
    the stop condition says so.
    """
    transform = initial
    total_iterations = 0
    stop = ""
    initial_metric = final_metric = math.nan
    for n, (fixed, moving) in enumerate(zip(fixed_levels, moving_levels)):
        reg = sitk.ImageRegistrationMethod()
        if settings.threads:
            reg.SetNumberOfThreads(settings.threads)
        if metric == "mattes_mi":
            reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=settings.histogram_bins)
        else:
            reg.SetMetricAsMeanSquares()
        finest = n == len(fixed_levels) - 1
        voxels = int(np.prod(fixed.GetSize()))
        samples = _samples(settings, initial, finest)
        if settings.metric_mask == "foreground" and metric == "mattes_mi":
            foreground = _foreground(fixed)
            reg.SetMetricFixedMask(foreground)
            voxels = max(1, int(np.count_nonzero(sitk.GetArrayViewFromImage(foreground))))
        reg.SetMetricSamplingStrategy(reg.RANDOM)
        reg.SetMetricSamplingPercentage(float(min(1.0, samples / voxels)), settings.seed)
        reg.SetMetricUseFixedImageGradientFilter(False)
        reg.SetMetricUseMovingImageGradientFilter(False)
        reg.SetInterpolator(sitk.sitkLinear)
        step = float(fixed.GetSpacing()[0])
        min_fraction = settings.min_step_fraction
        if not finest and settings.coarse_min_step_fraction:
            min_fraction = settings.coarse_min_step_fraction
        reg.SetOptimizerAsRegularStepGradientDescent(
            learningRate=step, minStep=step * min_fraction, numberOfIterations=settings.iterations,
            relaxationFactor=(settings.final_relaxation_factor if n == len(fixed_levels) - 1
                              else settings.relaxation_factor), gradientMagnitudeTolerance=1e-8,
        )
        reg.SetOptimizerScalesFromPhysicalShift()
        reg.SetInitialTransform(transform, inPlace=False)
        if finest:
            initial_metric = float(reg.MetricEvaluate(fixed, moving))
        out = reg.Execute(fixed, moving)
        total_iterations += int(reg.GetOptimizerIteration())
        stop = reg.GetOptimizerStopConditionDescription()
        if finest:
            final_metric = float(reg.GetMetricValue())
            if keep_better and not final_metric <= initial_metric:
                stop += "; the finest level ended worse than it started and was undone"
                final_metric = initial_metric
                continue  # keep the transform the finest level started from
        transform = _as_single_transform(out)
    return transform, initial_metric, final_metric, total_iterations, stop


def _check(result: RegistrationResult, settings: RegistrationSettings) -> tuple[str, ...]:
    problems = []
    if result.rotation_deg > settings.max_rotation_deg:
        problems.append(f"rotation {result.rotation_deg:.1f}° exceeds {settings.max_rotation_deg:g}°")
    if result.scale_deviation > settings.max_scale_deviation:
        problems.append(f"scale differs from 1 by {result.scale_deviation:.2f} "
                        f"(limit {settings.max_scale_deviation:g})")
    if settings.max_translation_mm is not None and result.translation_mm > settings.max_translation_mm:
        problems.append(f"translation {result.translation_mm:.1f} mm exceeds {settings.max_translation_mm:g} mm")
    if not math.isfinite(result.final_metric):
        problems.append(f"final metric is not finite ({result.final_metric})")
    elif math.isfinite(result.initial_metric):
        allowed = result.initial_metric + settings.metric_divergence_tolerance * abs(result.initial_metric)
        if result.final_metric > allowed + 1e-12:
            problems.append(
                f"metric diverged: {result.final_metric:.4g} after optimisation vs {result.initial_metric:.4g} before"
            )
    return tuple(problems)


def register_to_baseline(
    fixed_image: sitk.Image | None,
    moving_image: sitk.Image | None,
    *,
    fixed_mask: sitk.Image | None = None,
    moving_mask: sitk.Image | None = None,
    transform: TransformKind = "rigid",
    settings: RegistrationSettings | None = None,
    initial_transform: sitk.Transform | None = None,
) -> RegistrationResult:
    """Register a follow-up (moving) to the baseline (fixed).

    Parameters
    ----------
    fixed_image, moving_image:
        Baseline and follow-up images (any grids, any directions). When either
        is None the masks are aligned instead.
    fixed_mask, moving_mask:
        Lesion masks on the images' grids; used for the ``overlap`` figure and,
        without images, for the alignment itself.
    transform:
        ``"rigid"`` (Euler, 6 parameters; default) or ``"affine"`` (12).
    settings:
        :class:`RegistrationSettings` (default :data:`DEFAULT_SETTINGS`).
    initial_transform:
        Start from this transform (baseline → follow-up) instead of the
        centre-of-mass initialisation.

    Returns a :class:`RegistrationResult`; check ``plausible`` before using it.
    Raises :class:`~respond.errors.RegistrationError` when ITK itself fails.
    """
    if transform not in ("rigid", "affine"):
        raise ValueError(f"transform must be 'rigid' or 'affine', got {transform!r}")
    settings = settings or DEFAULT_SETTINGS
    started = time.perf_counter()
    chosen = _alignment_sources(fixed_image, moving_image, fixed_mask, moving_mask, transform, settings)
    if chosen is None:
        return replace(identity_result(notes=(("no image and an empty mask: nothing to align on; "
                                               "scanner coordinates used as they are"),)),
                       seconds=time.perf_counter() - started)
    try:
        with _itk_threads(settings.threads):
            result_tx, initial_metric, final_metric, iterations, stop = _optimise(chosen, settings, initial_transform)
    except RuntimeError as exc:
        raise RegistrationError(f"SimpleITK registration failed: {str(exc).strip().splitlines()[-1]}",
                                code="registration.itk") from exc
    rotation, scale = rotation_and_scale(result_tx)
    centre = _physical_centre(chosen.fixed)
    translation = float(np.linalg.norm(np.asarray(result_tx.TransformPoint(centre)) - np.asarray(centre)))
    overlap = math.nan
    if fixed_mask is not None and moving_mask is not None:
        overlap = mask_dice(fixed_mask, moving_mask, result_tx)
    result = RegistrationResult(
        transform=result_tx, kind=chosen.kind, method=chosen.method, metric=chosen.metric,
        initial_metric=initial_metric, final_metric=final_metric, iterations=iterations, stop_condition=stop,
        rotation_deg=rotation, translation_mm=translation,
        scale_deviation=scale if chosen.kind == "affine" else 0.0, overlap=overlap,
        seconds=time.perf_counter() - started, notes=chosen.notes,
    )
    return replace(result, problems=_check(result, settings))


@contextmanager
def _itk_threads(threads: int | None) -> Iterator[None]:
    """ITK's global default thread count set to ``threads`` for the duration (None: left as it is).

    ``ImageRegistrationMethod.SetNumberOfThreads`` does not reach everything
    the registration runs: with it at 1 and the global default at 2, the same
    pair registered twice in one process gave transforms differing by up to
    0.05 mm. With the global default at 1 as well, every run is the same bit
    for bit (the batch's workers start with it at 1 anyway).
    """
    if threads is None:
        yield
        return
    before = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(before)


@dataclass(frozen=True)
class _Alignment:
    """What is aligned and how: the images (or the masks' distance maps), the method, metric and transform kind."""

    fixed: sitk.Image
    moving: sitk.Image
    method: str  # "image" or "masks"
    metric: str  # "mattes_mi" or "mean_squares_distance"
    kind: str  # "rigid", "affine" or "translation"
    notes: tuple[str, ...] = ()


def _alignment_sources(fixed_image: sitk.Image | None, moving_image: sitk.Image | None,
                       fixed_mask: sitk.Image | None, moving_mask: sitk.Image | None, transform: str,
                       settings: RegistrationSettings) -> _Alignment | None:
    """The images when both are given, else the masks' distance maps; None when a mask is empty (nothing to align)."""
    if fixed_image is not None and moving_image is not None:
        return _Alignment(fixed_image, moving_image, "image", "mattes_mi", transform)
    if fixed_mask is None or moving_mask is None:
        raise ValueError("without images, both masks are needed to align the scans")
    if not _any(fixed_mask) or not _any(moving_mask):
        return None
    notes = ["images absent: aligned on the lesion masks' distance maps (lesions change between "
             "scans, so this is less reliable than image registration)"]
    if settings.mask_transform == "translation" or (
            settings.mask_transform == "auto"
            and min(_count_components(fixed_mask), _count_components(moving_mask)) < MIN_COMPONENTS_FOR_ROTATION):
        transform = "translation"
        notes.append(f"translation only: fewer than {MIN_COMPONENTS_FOR_ROTATION} lesions in a mask do not "
                     "determine a rotation")
    return _Alignment(_distance_map(fixed_mask), _distance_map(moving_mask), "masks", "mean_squares_distance",
                      transform, tuple(notes))


def _optimise(chosen: _Alignment, settings: RegistrationSettings, initial_transform: sitk.Transform | None,
              ) -> tuple[sitk.Transform, float, float, int, str]:
    """Build the pyramids, start the transform and optimise it (see :func:`_run_levels` for the returned tuple)."""
    levels = _levels(chosen.fixed, settings)
    method_ = settings.pyramid if chosen.method == "image" else "gaussian"
    fixed_levels = _pyramid(chosen.fixed, levels, settings.threads, method_)
    moving_levels = _pyramid(chosen.moving, levels, settings.threads, method_)
    init = _starting_transform(chosen, fixed_levels[0], moving_levels[0], initial_transform)
    if chosen.kind == "affine" and initial_transform is None:
        # Rigid first: an affine started far from the solution shears instead of rotating.
        rigid, *_ = _run_levels(fixed_levels[:-1] or fixed_levels, moving_levels[:-1] or moving_levels,
                                init if isinstance(init, sitk.Euler3DTransform) else sitk.Euler3DTransform(),
                                chosen.metric, settings)
        init = _initial_from(rigid, "affine", _physical_centre(chosen.fixed))
    # On masks the metric is ill-posed where lesions changed: a finest level that makes it worse is
    # undone rather than failing the patient. On images a diverged metric stays a plausibility failure.
    return _run_levels(fixed_levels, moving_levels, init, chosen.metric, settings,
                       keep_better=chosen.method == "masks")


def _starting_transform(chosen: _Alignment, fixed_coarse: sitk.Image, moving_coarse: sitk.Image,
                        initial_transform: sitk.Transform | None) -> sitk.Transform:
    """The given start re-expressed as the kind, else image moments (images) or the identity about the centre."""
    base: sitk.Transform = {"rigid": sitk.Euler3DTransform, "translation": lambda: sitk.TranslationTransform(3),
                            "affine": lambda: sitk.AffineTransform(3)}[chosen.kind]()
    if initial_transform is not None:
        return _initial_from(initial_transform, chosen.kind, _physical_centre(chosen.fixed))
    if chosen.method == "image":
        init = sitk.CenteredTransformInitializer(
            fixed_coarse, moving_coarse, base, sitk.CenteredTransformInitializerFilter.MOMENTS)
        return _as_single_transform(init)
    if chosen.kind != "translation":
        base.SetCenter(_physical_centre(chosen.fixed))
    return base


def _count_components(mask: sitk.Image) -> int:
    _, n = ndimage.label(sitk.GetArrayViewFromImage(mask) != 0, structure=np.ones((3, 3, 3), bool))
    return int(n)


def _any(mask: sitk.Image) -> bool:
    return bool(np.any(sitk.GetArrayViewFromImage(mask)))


def _initial_from(source: sitk.Transform, kind: str, centre: tuple[float, float, float]) -> sitk.Transform:
    """``source`` (rigid or affine) re-expressed as a transform of ``kind`` centred at ``centre``."""
    matrix = np.asarray(source.GetMatrix(), float).reshape(3, 3) if hasattr(source, "GetMatrix") else np.eye(3)
    c = np.asarray(centre, float)
    moved_centre = np.asarray(source.TransformPoint(tuple(c)))
    if kind == "affine":
        out: sitk.Transform = sitk.AffineTransform(3)
        out.SetMatrix([float(v) for v in matrix.ravel()])
    else:
        out = sitk.Euler3DTransform()
        out.SetMatrix([float(v) for v in _nearest_rotation(matrix).ravel()])
    out.SetCenter([float(v) for v in c])
    out.SetTranslation([float(v) for v in moved_centre - c])
    return out


def _nearest_rotation(matrix: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(matrix)
    r = u @ vt
    if np.linalg.det(r) < 0:
        u[:, -1] *= -1
        r = u @ vt
    return r


def transform_error_mm(estimated: sitk.Transform, truth: sitk.Transform, points_mm: Any) -> np.ndarray:
    """Distances (mm) between where two transforms send each point (N, 3)."""
    pts = np.atleast_2d(np.asarray(points_mm, float))
    return np.array([
        np.linalg.norm(np.asarray(estimated.TransformPoint(tuple(map(float, p))))
                       - np.asarray(truth.TransformPoint(tuple(map(float, p)))))
        for p in pts
    ])

"""Turn a label mask into lesion instances.

Two conventions:

* ``components`` — a binary or single-label mask; every connected component
  (26-connectivity by default, 18 or 6 on request) is one lesion. Lesions are
  numbered 1, 2, … in raster order of their first voxel (slowest axis k, then
  j, then i), which is stable for a given mask.
* ``labels`` — a multi-label mask; every label value is one reader-identified
  lesion, whose id is the label value. A label may hold several separate
  pieces; it is still one lesion.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
from scipy import ndimage

from respond.errors import MaskValueError

LesionMode = Literal["components", "labels"]

#: Connectivities accepted for connected components, as the number of neighbours.
CONNECTIVITIES: Final = (6, 18, 26)


@dataclass(frozen=True)
class LesionInstance:
    """One lesion of a mask.

    ``bbox`` is the lesion's bounding box as slices of the mask array in numpy
    order (k, j, i); ``mask`` is the boolean lesion mask cropped to that box.
    ``label`` is the mask value the lesion comes from (the segment number for
    a DICOM SEG). ``info`` holds extra lesion-table columns (for a SEG segment:
    ``segment_number, segment_label, tracking_id, tracking_uid``).
    """

    lesion_id: str
    label: int
    bbox: tuple[slice, slice, slice]
    mask: np.ndarray
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def voxel_count(self) -> int:
        """Number of voxels in the lesion."""
        return int(np.count_nonzero(self.mask))

    @property
    def offset_kji(self) -> np.ndarray:
        """Array index (k, j, i) of the bounding box's first voxel."""
        return np.array([s.start for s in self.bbox])


def structuring_element(connectivity: int) -> np.ndarray:
    """The 3×3×3 neighbourhood of 6-, 18- or 26-connectivity."""
    if connectivity not in CONNECTIVITIES:
        raise ValueError(f"connectivity must be one of {CONNECTIVITIES}, got {connectivity}")
    rank = {6: 1, 18: 2, 26: 3}[connectivity]
    return ndimage.generate_binary_structure(3, rank)


def find_lesions(
    labels: np.ndarray,
    *,
    lesions: LesionMode = "components",
    connectivity: int = 26,
    label: int | None = None,
    file: str | None = None,
) -> list[LesionInstance]:
    """Lesion instances of a label array (numpy order k, j, i).

    ``label`` restricts the mask to one label value first (e.g. label 1 of a
    mask that also holds organs). In ``components`` mode a mask with more than
    one non-zero value is refused unless ``label`` says which one to use, so
    that separate structures are never silently merged.
    """
    if lesions not in ("components", "labels"):
        raise ValueError(f"lesions must be 'components' or 'labels', got {lesions!r}")
    labels = np.asarray(labels)
    # Work inside the box holding all non-zero voxels: full-size temporary arrays are slow.
    outer = nonzero_box(labels)
    if outer is None:
        return []
    offset = np.array([s.start for s in outer])
    labels = labels[outer]
    foreground = labels != 0 if label is None else labels == label
    if not foreground.any():
        return []
    if lesions == "labels":
        return _label_instances(np.where(foreground, labels, 0), offset)
    values = np.unique(labels[foreground])
    if len(values) > 1:
        shown = ", ".join(str(int(v)) for v in values[:10])
        raise MaskValueError(
            f"components mode expects a binary mask, but the mask holds labels {shown}"
            + (" …" if len(values) > 10 else "")
            + "; use lesions='labels' (--lesions labels) or choose one label (--label N)",
            code="mask.multilabel",
            file=file,
            value=[int(v) for v in values[:10]],
        )
    return _component_instances(foreground, int(values[0]), connectivity, offset)


def segment_instances(seg, *, label: int | None = None) -> list[LesionInstance]:
    """Lesion instances of a DICOM SEG (:class:`respond.io.dicom.SegMask`): one per non-empty segment.

    Each segment is one lesion whatever its shape (several pieces stay one
    lesion, like a label) and overlapping segments stay separate lesions. The
    id is the segment's lesion id (TrackingID, else SegmentLabel, else number);
    ``label`` keeps only that segment number.
    """
    return [
        LesionInstance(s.lesion_id, s.number, s.bbox, s.mask, s.info())
        for s in seg.segments
        if s.bbox is not None and (label is None or s.number == label)
    ]


def nonzero_box(array: np.ndarray) -> tuple[slice, ...] | None:
    """Bounding box (slices) of the non-zero voxels of a 3D array, or None when there are none.

    Reduces axis by axis (``any`` over the other axes) so that no full-size
    temporary array is allocated.
    """
    k = np.flatnonzero(array.reshape(array.shape[0], -1).any(axis=1))
    if len(k) == 0:
        return None
    slab = array[k[0] : k[-1] + 1].any(axis=0)
    j = np.flatnonzero(slab.any(axis=1))
    i = np.flatnonzero(slab.any(axis=0))
    return (slice(int(k[0]), int(k[-1]) + 1), slice(int(j[0]), int(j[-1]) + 1), slice(int(i[0]), int(i[-1]) + 1))


def _shift(box: tuple[slice, ...], offset: np.ndarray) -> tuple[slice, slice, slice]:
    return tuple(slice(s.start + int(o), s.stop + int(o)) for s, o in zip(box, offset))  # type: ignore[return-value]


def _component_instances(binary: np.ndarray, value: int, connectivity: int, offset: np.ndarray) -> list[LesionInstance]:
    numbered, _ = ndimage.label(binary, structure=structuring_element(connectivity))
    return [
        LesionInstance(str(n), value, _shift(box, offset), numbered[box] == n)
        for n, box in enumerate(ndimage.find_objects(numbered), start=1)
        if box is not None
    ]


def _label_instances(labels: np.ndarray, offset: np.ndarray) -> list[LesionInstance]:
    if labels.dtype.kind not in "iu":
        raise MaskValueError(f"labels mode needs an integer mask, got {labels.dtype}", code="mask.type")
    if labels.size and labels.min() < 0:
        raise MaskValueError("labels must be non-negative", code="mask.negative")
    return [
        LesionInstance(str(value), value, _shift(box, offset), labels[box] == value)
        for value, box in enumerate(ndimage.find_objects(labels), start=1)
        if box is not None
    ]

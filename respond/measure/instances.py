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

import cc3d
import numpy as np
from scipy import ndimage

from respond.errors import MaskValueError, format_values
from respond.io.geometry import nonzero_box

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
    _check_connectivity(connectivity)
    rank = {6: 1, 18: 2, 26: 3}[connectivity]
    return ndimage.generate_binary_structure(3, rank)


def _check_connectivity(connectivity: int) -> None:
    if connectivity not in CONNECTIVITIES:
        raise ValueError(f"connectivity must be one of {CONNECTIVITIES}, got {connectivity}")


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

    The mask is split into independent regions first (groups of touching
    :data:`BLOCK_VOXELS`-voxel blocks holding foreground), and only the
    regions are labelled: the result is that of labelling the whole array.
    """
    if lesions not in ("components", "labels"):
        raise ValueError(f"lesions must be 'components' or 'labels', got {lesions!r}")
    labels = np.asarray(labels)
    if lesions == "labels":
        _check_label_values(labels)
    if label is not None:
        if label == 0:
            raise MaskValueError("label 0 is the background, not a lesion: name a lesion's label value",
                                 code="mask.label_background", file=file, value=0)
        if not _representable(label, labels.dtype):
            return []  # no voxel can hold it (e.g. -1 or 10**20 in a uint8 mask)
    foreground = labels if label is None else labels == label
    regions = independent_regions(foreground)
    if not regions:
        return []
    if lesions == "labels":
        return _label_instances(labels, regions, label)
    _check_connectivity(connectivity)
    values: set = set()
    found = []
    for region in regions:
        box, inside = _tight_region(foreground, region)
        if label is None:
            values.update(_values_held(labels[box], inside, region[1] is None))
        found += _components(inside, box, connectivity)
    if label is None and len(values) > 1:
        _refuse_multilabel(labels, file)
    value = int(label) if label is not None else int(values.pop())
    found.sort(key=lambda item: item[0])  # raster order of each lesion's first voxel, as in one labelling
    return [LesionInstance(str(n), value, box, mask) for n, (_, box, mask) in enumerate(found, start=1)]


def _values_held(crop: np.ndarray, inside: np.ndarray, alone: bool) -> set:
    """The smallest and largest value of ``crop`` on ``inside`` (one value: a binary region).

    ``alone``: no other region's voxel lies in the crop, so ``inside`` is ``crop != 0`` and one
    value is told by counting (no copy of the voxels).
    """
    if alone:
        top = crop.max()
        if top != 0 and np.count_nonzero(crop == top) == np.count_nonzero(inside):
            return {top.item()}
    held = crop[inside]
    return {held.min().item(), held.max().item()}


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




#: Edge (voxels) of the blocks by which a mask is split into independent regions before labelling.
BLOCK_VOXELS: Final = 8


def _block_any(array: np.ndarray, block: int) -> np.ndarray:
    """Which ``block``³ blocks of a 3D array hold a non-zero value (the last blocks may be partial)."""
    if array.dtype.kind not in "biu":
        array = array != 0
    out = _or_blocks(array.view(np.uint8) if array.dtype == bool else array, 0, block)
    if block * out.itemsize == 8 and out.shape[2] % block == 0:
        # A run of `block` bytes along i is one 64-bit word: non-zero when any of them is.
        out = (np.ascontiguousarray(out).view(np.uint64) != 0).view(np.uint8)
    else:
        out = _or_blocks(out, 2, block)
    return _or_blocks(out, 1, block) != 0


def _or_blocks(array: np.ndarray, axis: int, block: int) -> np.ndarray:
    """Bitwise OR of each run of ``block`` planes along ``axis`` (the last run may be shorter).

    One elementwise OR per plane of a run over whole planes (contiguous for axis 0, the first
    and largest reduction): one pass over the array at memory speed.
    """
    moved = np.moveaxis(array, axis, 0)
    n = moved.shape[0]
    full = n // block
    out = np.empty((-(-n // block), *moved.shape[1:]), array.dtype)
    if full:
        np.copyto(out[:full], moved[0 : full * block : block])
        for offset in range(1, block):
            np.bitwise_or(out[:full], moved[offset : full * block : block], out=out[:full])
    if full * block < n:
        np.bitwise_or.reduce(moved[full * block :], axis=0, out=out[full])
    return np.moveaxis(out, 0, axis)


def label_components(array: np.ndarray, connectivity: int) -> tuple[np.ndarray, int]:
    """Connected components of a boolean 3D array and their count, numbered as ``scipy.ndimage.label`` numbers
    them (raster order of each component's first voxel).

    connected-components-3d (4.1) sizes its union-find array by its estimate
    of the provisional labels and fails ("maximum length exception", after
    printing to standard output) when an array reaches that estimate exactly:
    ``[1, 0, 1]`` along one row, the eight corners of a 3×3×3 box with
    26-connectivity. Two touching runs, appended in a plane of their own, add
    two runs but one label, so no array reaches it; they are labelled last
    and cut off. Should the library still fail, scipy labels the array.
    """
    z, y, x = array.shape
    padded = np.zeros((z + 2, max(y, 2), max(x, 2)), bool)
    padded[:z, :y, :x] = array
    padded[z + 1, 0, 0] = padded[z + 1, 1, 0] = True
    try:
        numbered, count = cc3d.connected_components(padded, connectivity=connectivity, return_N=True)
    except RuntimeError:
        return ndimage.label(array, structure=structuring_element(connectivity))
    return numbered[:z, :y, :x], int(count) - 1


def independent_regions(foreground: np.ndarray) -> list[tuple[tuple[slice, slice, slice], np.ndarray | None]]:
    """Boxes of the groups of 26-touching non-empty blocks of a 3D array, in raster order.

    Two voxels in different groups are never neighbours (their blocks do not
    touch), so each group can be labelled on its own. Each item is the
    group's box (slices) and, when blocks of other groups lie inside that
    box, a boolean mask of the group's own blocks over the box (else None).
    """
    if foreground.ndim != 3 or foreground.size == 0:
        return []
    occupied = _block_any(foreground, BLOCK_VOXELS)
    groups, count = label_components(occupied, 26)
    regions = []
    for n, coarse in enumerate(ndimage.find_objects(groups, max_label=count), start=1):
        if coarse is None:
            continue
        box = tuple(slice(c.start * BLOCK_VOXELS, min(c.stop * BLOCK_VOXELS, size))
                    for c, size in zip(coarse, foreground.shape))
        own = groups[coarse] == n
        mask = None
        if np.count_nonzero(groups[coarse]) != np.count_nonzero(own):
            mask = own
            for axis, s in enumerate(box):
                mask = np.repeat(mask, BLOCK_VOXELS, axis=axis)
            mask = mask[tuple(slice(0, s.stop - s.start) for s in box)]
        regions.append((box, mask))
    return regions


def _region_foreground(foreground: np.ndarray, region) -> np.ndarray:
    box, own = region
    crop = foreground[box]
    crop = crop if crop.dtype == bool else crop != 0
    return crop if own is None else crop & own


def _tight_region(foreground: np.ndarray, region) -> tuple[tuple[slice, slice, slice], np.ndarray]:
    """The region's box shrunk to its foreground, and the boolean foreground in that box."""
    box, _ = region
    inside = _region_foreground(foreground, region)
    tight = nonzero_box(inside)
    assert tight is not None, "a region holds foreground"
    shifted = tuple(slice(b.start + t.start, b.start + t.stop) for b, t in zip(box, tight))
    return shifted, inside[tight]  # type: ignore[return-value]


def _components(inside: np.ndarray, box: tuple[slice, ...], connectivity: int):
    """(raster key of the first voxel, box in the array, cropped mask) of each component in a box.

    ``inside`` is a region's foreground in its tight ``box``. The labelling
    (connected-components-3d: numbered in raster order of first voxel, as
    ``scipy.ndimage.label``) is only read back when the region holds several
    components; a region of one component is its own lesion.
    """
    offset = [s.start for s in box]
    numbered, count = label_components(inside, connectivity)
    if count == 1:
        first = np.unravel_index(int(np.argmax(inside)), inside.shape)
        return [(tuple(int(f) + o for f, o in zip(first, offset)), box, np.ascontiguousarray(inside))]
    out = []
    for sub, mask in _component_boxes(numbered, count):
        first = np.unravel_index(int(np.argmax(mask)), mask.shape)
        shifted = tuple(slice(s.start + o, s.stop + o) for s, o in zip(sub, offset))
        key = tuple(int(f) + s.start for f, s in zip(first, shifted))
        out.append((key, shifted, mask))
    return out


#: Up to this many components in a region, each one's box comes from its own mask (one comparison
#: and three projections each); beyond, from one ``scipy.ndimage.find_objects`` scan.
_FEW_COMPONENTS: Final = 8


def _component_boxes(numbered: np.ndarray, count: int):
    """(box, boolean mask cropped to it) of components 1 … ``count`` of a labelled array, in order."""
    if count <= _FEW_COMPONENTS:
        for n in range(1, count + 1):
            alone = numbered == n
            box = nonzero_box(alone)
            yield box, np.ascontiguousarray(alone[box])
        return
    for n, sub in enumerate(ndimage.find_objects(numbered, max_label=count), start=1):
        if sub is not None:
            yield sub, numbered[sub] == n


def _refuse_multilabel(labels: np.ndarray, file: str | None) -> None:
    """Components mode: a mask whose foreground holds several values is refused, listing them."""
    values = np.unique(labels[labels != 0])
    raise MaskValueError(
        f"components mode expects a binary mask, but the mask holds labels {format_values(values.tolist())}"
        + "; use lesions='labels' (--lesions labels) or choose one label (--label N)",
        code="mask.multilabel",
        file=file,
        value=[v.item() for v in values[:10]],
    )


def _representable(value: int, dtype: np.dtype) -> bool:
    """Whether a voxel of ``dtype`` can hold the whole number ``value``."""
    if dtype.kind == "b":
        return value == 1
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return info.min <= value <= info.max
    return bool(np.isfinite(float(value))) and abs(float(value)) < np.finfo(dtype).max


def _check_label_values(labels: np.ndarray) -> None:
    if labels.dtype.kind not in "iu":
        raise MaskValueError(f"labels mode needs an integer mask, got {labels.dtype}", code="mask.type")
    if labels.dtype.kind == "i" and labels.size and labels.min() < 0:
        raise MaskValueError("labels must be non-negative", code="mask.negative")


def _label_instances(labels: np.ndarray, regions, label: int | None) -> list[LesionInstance]:
    """One instance per label value present, id = the value, in increasing order of value.

    Works from the values present (never one slot per possible value), so a
    huge label value (a uint64 near 2⁶⁴) costs what a small one costs. A
    value whose pieces lie in several regions is still one lesion.
    """
    pieces: dict[int, list[tuple[slice, ...]]] = {}
    for region in regions:
        box, _ = region
        crop = labels[box]
        inside = _region_foreground(crop if label is None else crop == label, (tuple(slice(None) for _ in box), region[1]))
        values = np.unique(crop[inside])
        compact = np.zeros(crop.shape, np.int32)
        compact[inside] = np.searchsorted(values, crop[inside]) + 1
        for value, sub in zip(values, ndimage.find_objects(compact, max_label=len(values))):
            shifted = tuple(slice(s.start + b.start, s.stop + b.start) for s, b in zip(sub, box))
            pieces.setdefault(value.item(), []).append(shifted)
    out = []
    for value in sorted(pieces):
        box = _union_box(pieces[value])
        out.append(LesionInstance(str(value), value, box, labels[box] == labels.dtype.type(value)))
    return out


def _union_box(boxes) -> tuple[slice, slice, slice]:
    return tuple(slice(min(b[a].start for b in boxes), max(b[a].stop for b in boxes)) for a in range(3))  # type: ignore[return-value]

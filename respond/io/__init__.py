"""Reading images and masks, with geometry checked at the door."""
from respond.io.images import (
    DIRECTION_ATOL,
    GEOMETRY_ATOL_MM,
    ORTHONORMAL_ATOL,
    QFORM_SFORM_ATOL_MM,
    SUPPORTED_SUFFIXES,
    Geometry,
    check_mask_values,
    image_geometry,
    load_pair,
    match_mask_to_grid,
    read_header,
    read_image,
    read_mask,
    resample_label_image,
)

__all__ = [
    "DIRECTION_ATOL",
    "GEOMETRY_ATOL_MM",
    "ORTHONORMAL_ATOL",
    "QFORM_SFORM_ATOL_MM",
    "SUPPORTED_SUFFIXES",
    "Geometry",
    "check_mask_values",
    "image_geometry",
    "load_pair",
    "match_mask_to_grid",
    "read_header",
    "read_image",
    "read_mask",
    "resample_label_image",
]

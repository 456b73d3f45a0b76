"""Follow-up → baseline registration (SimpleITK) and label-safe resampling.

Registration is used only to bring lesion positions into the baseline frame
for matching; lesions are always measured on each scan's native mask.
"""
from respond.registration.rigid import (
    DEFAULT_SETTINGS,
    MAX_ROTATION_DEG,
    MAX_SCALE_DEVIATION,
    RegistrationResult,
    RegistrationSettings,
    identity_result,
    mask_dice,
    register_to_baseline,
    rotation_and_scale,
    transform_error_mm,
    warp_labels,
)

__all__ = [
    "DEFAULT_SETTINGS",
    "MAX_ROTATION_DEG",
    "MAX_SCALE_DEVIATION",
    "RegistrationResult",
    "RegistrationSettings",
    "identity_result",
    "mask_dice",
    "register_to_baseline",
    "rotation_and_scale",
    "transform_error_mm",
    "warp_labels",
]

"""Public helpers to validate respond: analytic phantoms with known measurements."""
from respond.testing.phantoms import AXIAL, SAGITTAL, Phantom, box, ellipsoid, oblique_direction, sphere

__all__ = ["AXIAL", "SAGITTAL", "Phantom", "box", "ellipsoid", "oblique_direction", "sphere"]

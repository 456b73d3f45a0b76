"""The public Python API: every stage callable from respond's top level."""
from __future__ import annotations

import subprocess
import sys

import pytest

import respond
from respond.testing.phantoms import box


def test_every_stage_is_reachable_from_the_top_level():
    for name in ("evaluate", "evaluate_sdtm", "load_criteria", "track", "km", "summarize", "measure", "plots"):
        assert callable(getattr(respond, name)) or name == "plots", name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        respond.nope  # noqa: B018


def test_measure_is_callable_even_after_its_package_is_imported():
    import respond.measure.instances  # binds respond.measure to the package  # noqa: F401

    phantom = box((10, 6, 3), spacing=(1.0, 1.0, 2.0))
    frame = respond.measure(phantom.mask, organ="brain")
    assert len(frame) == 1 and frame.organ.iloc[0] == "brain"
    assert frame.longest_diameter_mm.iloc[0] == pytest.approx(phantom.truth["longest_diameter_mm"], abs=1e-9)


def test_import_is_light():
    # `import respond` must not pull in pandas or SimpleITK (worker processes start faster)
    code = "import sys, respond; print('pandas' in sys.modules, 'SimpleITK' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]

"""``respond measure``: a mask of one scan → the lesion table (CSV).

Heavy imports (SimpleITK, scipy, scikit-image) happen when the command runs,
so that ``respond --help`` stays fast.
"""
from __future__ import annotations

import datetime as dt
import sys

import click

#: Exit code when the measurement cannot start (bad input file, mask or geometry),
#: as for the other respond commands.

#: Connectivity choices on the command line (neighbours; see respond.measure.instances.CONNECTIVITIES).
CONNECTIVITY_CHOICES = ("6", "18", "26")


def _iso_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected an ISO date YYYY-MM-DD, got {value!r}") from None


@click.command(name="measure")
@click.argument("mask", type=click.Path(path_type=str))
@click.option("--image", type=click.Path(path_type=str), default=None,
              help="Image the mask was drawn on; its grid must match the mask's.")
@click.option("--lesions", type=click.Choice(["components", "labels"]), default="components", show_default=True,
              help="components: each connected component is a lesion; labels: each label value is a lesion.")
@click.option("--connectivity", type=click.Choice(CONNECTIVITY_CHOICES), default="26", show_default=True,
              help="Neighbourhood for connected components.")
@click.option("--label", type=int, default=None, help="Only measure this label value of the mask.")
@click.option("--organ", default=None, help="Organ written to every row (e.g. brain, lung, lymph_node).")
@click.option("--patient-id", default=None, help="Patient id written to every row.")
@click.option("--date", default=None, callback=_iso_date, help="Scan date (YYYY-MM-DD) written to every row.")
@click.option("--geometry-atol", type=float, default=None,
              help="Tolerance in mm between image and mask origin/spacing [default: 0.001].")
@click.option("--allow-resample-mask", is_flag=True, default=False,
              help="Resample a mask whose grid differs from the image's by nearest neighbour instead of failing.")
@click.option("--allow-float-mask", is_flag=True, default=False,
              help="Accept a mask stored as floats if all its values are whole numbers.")
@click.option("--allow-uneven-slices", is_flag=True, default=False,
              help="Accept a DICOM series with missing slices: slices are placed at their true positions "
                   "(gaps must be whole multiples of the smallest gap).")
@click.option("--fractional-threshold", type=click.FloatRange(0.0, 1.0, min_open=True), default=None,
              help="DICOM SEG: fraction of the maximum fractional value at which a FRACTIONAL segment "
                   "is binarised [default: 0.5].")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Lesion table to write (CSV, written atomically).")
def measure_command(mask, image, lesions, connectivity, label, organ, patient_id, date, geometry_atol,
                    allow_resample_mask, allow_float_mask, allow_uneven_slices, fractional_threshold, out):
    """Measure the lesions of MASK (NIfTI, NRRD, MetaImage, DICOM series folder or DICOM SEG) into a lesion table.

    In a DICOM SEG each segment is one lesion, id = TrackingID, else
    SegmentLabel, else segment number; --image may be its DICOM series folder.

    Writes one row per lesion: longest axial diameter with endpoints, short
    axis, 3D diameter, volumes, slices, centroid and QC flags (mesh convention,
    as pyradiomics). An empty mask writes the header only. With --patient-id
    and --date the file feeds `respond evaluate` directly.
    """
    from respond.errors import EXIT_CANNOT_START, RespondError
    from respond.io.geometry import GEOMETRY_ATOL_MM
    from respond.measure import measure_mask, write_lesion_csv

    try:
        frame = measure_mask(
            mask, image, lesions=lesions, organ=organ, patient_id=patient_id, date=date,
            connectivity=int(connectivity), label=label,
            geometry_atol=GEOMETRY_ATOL_MM if geometry_atol is None else geometry_atol,
            allow_resample_mask=allow_resample_mask, allow_float_mask=allow_float_mask,
            allow_uneven_slices=allow_uneven_slices, fractional_threshold=fractional_threshold,
        )
    except RespondError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_CANNOT_START)
    write_lesion_csv(frame, out)
    click.echo(f"{len(frame)} lesion(s) measured -> {out}", err=True)

"""``respond track``: register and match a patient series, write the lesion table and matches."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from respond.errors import EXIT_SOME_FAILED, RespondError
from respond.io.paths import check_output_dir
from respond.pipeline.command_options import imaging_leniency_options
from respond.pipeline.console import fail_to_start, say_failed_patients



@click.command("track")
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed).")
@click.option("--lesions", "lesions", type=click.Choice(["components", "labels"]), default="components",
              show_default=True,
              help="components: connected components of binary masks are matched across scans; "
                   "labels: label values are the reader's lesion ids (no matching).")
@click.option("--links", type=click.Path(dir_okay=False, path_type=Path),
              help="Manual links CSV: patient_id, date, source_label, lesion_id[, action link|unlink].")
@click.option("--transform", type=click.Choice(["rigid", "affine"]), default="rigid", show_default=True,
              help="Registration transform of follow-ups to the baseline.")
@click.option("--organ", help="Organ of manifest rows without an organ (e.g. brain).")
@click.option("--match-margin-mm", type=float, default=None,
              help="Margin around an earlier lesion's registered footprint within which follow-up foreground "
                   "counts as that lesion (default 3 mm; a lesion is 'disappeared' only with nothing in it).")
@click.option("--max-distance-mm", type=float, default=None,
              help="Cap on the centroid distance of a match without overlap, baseline frame (default 10 mm; "
                   "the lesion's own size also bounds it).")
@click.option("--connectivity", type=click.Choice(["6", "18", "26"]), default="26", show_default=True,
              help="Connectivity of lesion components.")
@click.option("--empty-baseline", type=click.Choice(["assess", "fail"]), default="assess", show_default=True,
              help="An empty baseline mask: assess the patient from that lesion-free baseline (later lesions are "
                   "new; warning empty_baseline_mask) or fail the patient.")
@click.option("--threads", type=int, default=None, help="Threads SimpleITK may use (default: all).")
@imaging_leniency_options
def track_command(manifest: Path, out: Path, lesions: str, links: Path | None, transform: str, organ: str | None,
                  match_margin_mm: float | None, max_distance_mm: float | None, connectivity: str,
                  empty_baseline: str, threads: int | None, allow_outside_paths: bool, allow_outside_alias: bool,
                  allow_resample_mask: bool, allow_float_mask: bool, allow_implausible: bool,
                  allow_uneven_slices: bool) -> None:
    """Track lesions across each patient's scans listed in MANIFEST (CSV: patient_id, date, mask[, image, organ]).

    Writes lesions.csv (one row per lesion per date, ready for `respond
    evaluate`), matches.csv, registrations.csv, transforms/ and failures.csv.
    """
    from respond.pipeline.series import track
    from respond.tracking import MatchLimits
    from respond.registration import RegistrationSettings

    limits_kw = {k: v for k, v in (("margin_mm", match_margin_mm), ("max_distance_mm", max_distance_mm))
                 if v is not None}
    try:
        limits = MatchLimits(**limits_kw)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    try:
        check_output_dir(out, what="--out folder")  # before any computation
        result = track(manifest, out=out, lesions=lesions, links=links, transform=transform, organ=organ,
                       limits=limits, settings=RegistrationSettings(threads=threads),
                       connectivity=int(connectivity), allow_outside=allow_outside_paths or allow_outside_alias,
                       allow_resample_mask=allow_resample_mask, allow_implausible=allow_implausible,
                       allow_uneven_slices=allow_uneven_slices, allow_float_mask=allow_float_mask,
                       empty_baseline=empty_baseline)
    except (RespondError, ValueError) as exc:
        fail_to_start(exc)
    n_patients = result.lesions["patient_id"].nunique()
    click.echo(f"{n_patients} patient(s) tracked: {len(result.lesions)} lesion rows")
    flagged = result.registrations[result.registrations["plausible"] == False]
    if len(flagged):
        click.echo(f"{len(flagged)} registration(s) flagged implausible: see registrations.csv", err=True)
    if len(result.warnings):
        click.echo(f"{len(result.warnings)} warning(s): see {out / 'warnings.csv'}", err=True)
    click.echo(f"results written to {out}/ (lesions.csv, matches.csv, registrations.csv, scans.csv, warnings.csv, "
               "failures.csv, transforms/)")
    if say_failed_patients(result.failures, "could not be tracked", out / "failures.csv"):
        sys.exit(EXIT_SOME_FAILED)

"""``respond assess``: the whole chain for a cohort, from a manifest of scans to the report."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from respond.errors import EXIT_CANNOT_START, EXIT_SOME_FAILED, RespondError



@click.command("assess")
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed).")
@click.option("--clinical", type=click.Path(dir_okay=False, path_type=Path),
              help="Clinical table (patient_id, date, steroid_dose_mg, clinical_status), unless the manifest has "
                   "those columns.")
@click.option("--patients", type=click.Path(dir_okay=False, path_type=Path),
              help="Patients table: patient_id, treatment_start[, last_followup, death_date].")
@click.option("--adjudications", type=click.Path(dir_okay=False, path_type=Path),
              help="Adjudication table for lesion local control (patient_id, lesion_id, date, finding).")
@click.option("--treatments", type=click.Path(dir_okay=False, path_type=Path),
              help="Treatments table (patient_id, lesion_id, date, total_dose_gy, fractions, technique, ...): "
                   "with it, or with clinical columns in --patients, the study-outcome tables are written too.")
@click.option("--criteria", "criteria", multiple=True, metavar="ID",
              help="Preset to apply (recist1.1, rano-bm); repeat for several. Default: both.")
@click.option("--config", "configs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Criteria YAML of a protocol variant; repeat for several.")
@click.option("--lesions", type=click.Choice(["components", "labels"]), default="components", show_default=True,
              help="components: lesions are connected components, matched across scans; labels: label values "
                   "are the reader's lesion ids.")
@click.option("--transform", type=click.Choice(["rigid", "affine"]), default="rigid", show_default=True,
              help="Registration of follow-ups to the baseline.")
@click.option("--organ", help="Organ of manifest rows without one (e.g. brain).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Patients processed at once (one process each).")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local process pool, or a Dask cluster (pip install 'respond[distributed]').")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://HOST:8786 (default: a local cluster).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=None,
              help="Seconds one patient may take before it is stopped and listed as failed.")
@click.option("--resume", is_flag=True,
              help="Reuse the results of patients whose inputs, options and respond version are unchanged.")
@click.option("--retry-failed", is_flag=True, help="With --resume, run previously failed patients again.")
@click.option("--allow-outside", is_flag=True, help="Accept manifest paths outside the manifest's folder.")
@click.option("--allow-resample-mask", is_flag=True,
              help="Resample a mask whose grid differs from its image (nearest neighbour).")
@click.option("--allow-implausible", is_flag=True, help="Use registrations that fail the plausibility checks.")
@click.option("--allow-uneven-slices", is_flag=True,
              help="Accept DICOM image series with missing slices (whole multiples of the slice gap).")
@click.option("--report/--no-report", "make_report", default=True, show_default=True,
              help="Write report.html and responses.xlsx.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: on a terminal, off in CI and logs).")
def assess_command(manifest: Path, out: Path, clinical, patients, adjudications, treatments, criteria, configs, lesions,
                   transform, organ, workers, executor, scheduler, timeout_s, resume, retry_failed, allow_outside,
                   allow_resample_mask, allow_implausible, allow_uneven_slices, make_report, progress) -> None:
    """Assess a cohort: MANIFEST lists one scan per row (patient_id, date, mask[, image, organ,
    steroid_dose_mg, clinical_status]); relative paths are relative to the manifest's folder.

    Writes lesions, matches, registrations, timepoints, best_response, targets,
    events, summary, agreement, failures (.csv, and Parquet with pyarrow),
    run.json and report.html into OUT. Exit code 0: every patient assessed;
    3: some patients failed (see failures.csv; the others are complete);
    2: the run could not start.
    """
    from respond.pipeline import assess

    if retry_failed and not resume:
        raise click.UsageError("--retry-failed goes with --resume")
    try:
        result = assess(manifest, out=out, clinical=clinical, patients=patients, adjudications=adjudications,
                        treatments=treatments, criteria=list(criteria) or None, config=list(configs) or None,
                        lesions=lesions, transform=transform, organ=organ, workers=workers, executor=executor,
                        scheduler=scheduler, timeout_s=timeout_s, resume=resume, retry_failed=retry_failed,
                        allow_outside=allow_outside, allow_resample_mask=allow_resample_mask,
                        allow_implausible=allow_implausible, allow_uneven_slices=allow_uneven_slices,
                        report=make_report, progress=progress)
    except (RespondError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_CANNOT_START)
    best = result.best_response
    if len(best):
        click.echo("Best overall response")
        click.echo(best.pivot(index="patient_id", columns="criteria", values="best_overall_response")
                   .fillna("").to_string())
    counts = result.run_info["counts"]
    reused = f", {counts['patients_reused']} reused from the previous run" if counts["patients_reused"] else ""
    click.echo(f"{counts['patients_assessed']} patient(s) assessed, {counts['patients_failed']} failed{reused}")
    click.echo(f"results written to {out}/" + (f" (report: {out / 'report.html'})" if make_report else ""))
    if result.n_failed:
        click.echo(f"see {out / 'failures.csv'} for the patients that could not be assessed", err=True)
        sys.exit(EXIT_SOME_FAILED)

"""``respond assess``: the whole chain for a cohort, from a manifest of scans to the report."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from respond.errors import EXIT_SOME_FAILED, RespondError
from respond.io.paths import check_output_dir
from respond.pipeline.command_options import criteria_options, imaging_leniency_options, treatments_option
from respond.pipeline.console import fail_to_start



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
@treatments_option
@criteria_options
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
@imaging_leniency_options
@click.option("--empty-baseline", type=click.Choice(["assess", "fail"]), default="assess", show_default=True,
              help="An empty baseline mask: assess the patient from that lesion-free baseline (later lesions are "
                   "new; warning empty_baseline_mask) or fail the patient.")
@click.option("--report/--no-report", "make_report", default=True, show_default=True,
              help="Write report.html and responses.xlsx.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: on a terminal, off in CI and logs).")
def assess_command(manifest: Path, out: Path, clinical, patients, adjudications, treatments, criteria, configs, make_report,
                   retry_failed, allow_outside_alias, **options) -> None:
    """Assess a cohort: MANIFEST lists one scan per row (patient_id, date, mask[, image, organ,
    steroid_dose_mg, clinical_status]); relative paths are relative to the manifest's folder.

    Writes lesions, matches, registrations, timepoints, best_response, targets,
    events, summary, agreement, failures (.csv, and Parquet with pyarrow),
    run.json and report.html into OUT. Exit code 0: every patient assessed;
    3: some patients failed (see failures.csv; the others are complete);
    2: the run could not start; 130: interrupted (--resume continues it).
    """
    from respond.pipeline import assess
    from respond.pipeline.console import best_response_lines

    if retry_failed and not options["resume"]:
        raise click.UsageError("--retry-failed goes with --resume")
    options["allow_outside_paths"] = options["allow_outside_paths"] or allow_outside_alias
    try:
        check_output_dir(out, what="--out folder")  # before any computation
        result = assess(manifest, out=out, clinical=clinical, patients=patients, adjudications=adjudications,
                        treatments=treatments, criteria=list(criteria) or None, config=list(configs) or None, report=make_report,
                        retry_failed=retry_failed, **options)
    except (RespondError, ValueError) as exc:
        fail_to_start(exc)
    for line in best_response_lines(result.best_response):
        click.echo(line)
    counts = result.run_info["counts"]
    reused = f", {counts['patients_reused']} reused from the previous run" if counts["patients_reused"] else ""
    click.echo(f"{counts['patients_assessed']} patient(s) assessed, {counts['patients_failed']} failed{reused}")
    click.echo(f"results written to {out}/" + (f" (report: {out / 'report.html'})" if make_report else ""))
    if result.n_failed:
        click.echo(f"see {out / 'failures.csv'} for the patients that could not be assessed", err=True)
        sys.exit(EXIT_SOME_FAILED)

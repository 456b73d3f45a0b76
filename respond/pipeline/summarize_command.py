"""``respond summarize RUN_DIR``: recompute events.csv and summary.csv of a run with other options."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from respond.errors import RespondError
from respond.io.paths import check_output_dir


def _times(ctx, param, value: str | None):
    if value is None:
        return None
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected months separated by commas, e.g. 6,12; got {value!r}") from None


@click.command("summarize")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--rate-times", callback=_times, metavar="MONTHS",
              help="Months of the Kaplan-Meier rates, comma-separated (default: the preset's, 6,12).")
@click.option("--death-as-event/--no-death-as-event", default=None,
              help="Count death without progression as an iPFS event (default: the preset's, on).")
@click.option("--confirm-local-failure/--no-confirm-local-failure", default=None,
              help="Require the next scan to confirm a local failure (default: the preset's, off).")
@click.option("--confidence", type=float, help="Confidence level of the intervals (default 0.95).")
@click.option("--lesions", type=click.Path(dir_okay=False, path_type=Path),
              help="Lesion table (default: lesions.csv of RUN_DIR).")
@click.option("--patients", type=click.Path(dir_okay=False, path_type=Path),
              help="Patients table (default: the one named in run.json, if unchanged).")
@click.option("--adjudications", type=click.Path(dir_okay=False, path_type=Path),
              help="Adjudication table: patient_id, lesion_id, date, finding (default: the run's).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: RUN_DIR; events.csv, summary.csv, agreement.csv are replaced).")
def summarize_command(run_dir: Path, rate_times, death_as_event, confirm_local_failure, confidence,
                      lesions, patients, adjudications, out) -> None:
    """Recompute the clinical endpoints (events.csv, summary.csv) of an evaluate output folder."""
    from respond.errors import EXIT_SOME_FAILED
    from respond.pipeline.console import fail_to_start, say_failed_patients
    from respond.pipeline.summarize import summarize

    try:
        if out is not None:
            check_output_dir(out, what="--out folder")  # before any computation
        result = summarize(run_dir, rate_times_months=rate_times, death_is_event=death_as_event,
                           local_failure_requires_confirmation=confirm_local_failure,
                           confidence_level=confidence, lesions=lesions, patients=patients,
                           adjudications=adjudications)
    except RespondError as exc:
        fail_to_start(exc)
    out = out or run_dir
    paths = result.write(out)
    summary = result.summary
    shown = summary[summary["statistic"].isin(["iorr", "ipfs_median", "ipfs_rate", "local_control_rate"])
                    & summary["method"].isin(["clopper-pearson", "kaplan-meier"])]
    if len(shown):
        click.echo(shown[["criteria", "statistic", "time_months", "n", "estimate", "ci_low", "ci_high"]]
                   .to_string(index=False))
    click.echo(f"endpoints written to {out}/ ({', '.join(p.name for p in paths.values())})")
    if len(result.failures):
        from respond.io.writers import write_csv
        path = write_csv(result.failures, out / "endpoint_failures.csv")
        say_failed_patients(result.failures, "left out", path)
        sys.exit(EXIT_SOME_FAILED)

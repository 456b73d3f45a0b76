"""``respond outcomes RUN_DIR --out DIR``: the study-outcome tables of a run, with other options."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from respond.errors import EXIT_SOME_FAILED, RespondError
from respond.io.paths import check_output_dir
from respond.pipeline.console import fail_to_start, say_failed_patients


@click.command("outcomes")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed; may be RUN_DIR).")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Outcomes YAML (default: the shipped configs/outcomes.yaml).")
@click.option("--covariates", metavar="NAME[,NAME…]",
              help="Covariates of the univariate and multivariate patient models, comma-separated "
                   "(sex_male, age_ge_60, kps_lt_70, extracranial_metastases, multiple_brain_metastases, "
                   "lung_primary, gtv_ge_10cm3).")
@click.option("--patients", type=click.Path(dir_okay=False, path_type=Path),
              help="Patients table with the clinical columns (default: RUN_DIR/patients.csv or the run's input).")
@click.option("--treatments", type=click.Path(dir_okay=False, path_type=Path),
              help="Treatments table (default: RUN_DIR/treatments.csv or the run's input).")
def outcomes_command(run_dir: Path, out: Path, config: Path | None, covariates: str | None, patients: Path | None,
                     treatments: Path | None) -> None:
    """Compute OS / CSS / iPFS / local control, prognostic indices, Cox and log-rank tables, competing
    risks and BED/EQD2 from the outputs of respond evaluate or respond assess in RUN_DIR."""
    from respond.pipeline.outcomes import run_outcomes

    names = [c.strip() for c in covariates.split(",") if c.strip()] if covariates else None
    try:
        check_output_dir(out, what="--out folder")  # before any computation
        result = run_outcomes(run_dir, patients=patients, treatments=treatments, config=config, covariates=names,
                              out=out)
    except RespondError as exc:
        fail_to_start(exc)
    click.echo(f"outcome tables written to {out}/ ({', '.join(f'{n}.csv' for n in result.tables)})")
    os_median = result.outcomes[(result.outcomes["endpoint"] == "os") & (result.outcomes["statistic"] == "median")
                                & result.outcomes["group_by"].isna()]
    if len(os_median) and os_median["n"].iloc[0]:
        row = os_median.iloc[0]
        click.echo(f"overall survival: n={int(row['n'])}, {int(row['events'])} deaths, median "
                   f"{'not reached' if row['estimate'] == float('inf') else f'{row.estimate:.1f} months'}")
    if say_failed_patients(result.failures, "left out of the outcomes", out / "outcome_failures.csv"):
        sys.exit(EXIT_SOME_FAILED)

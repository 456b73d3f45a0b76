"""Command line: thin wrappers around the public API.

Exit codes: 0 every patient assessed; 3 some patients failed (results for
the others are written, failures are in ``failures.csv``); 2 the run could not
start (bad arguments, configuration or table).
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from respond import __version__
from respond.errors import RespondError

EXIT_OK = 0
EXIT_CANNOT_START = 2
EXIT_SOME_FAILED = 3


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="respond")
def main() -> None:
    """respond: tumour response assessment (RECIST 1.1, RANO-BM) from lesion tables and masks."""


def _fail_to_start(exc: RespondError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(EXIT_CANNOT_START)


@main.command()
@click.argument("lesions", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--clinical", type=click.Path(dir_okay=False, path_type=Path),
              help="Clinical table: patient_id, date, steroid_dose_mg, clinical_status (RANO-BM).")
@click.option("--patients", type=click.Path(dir_okay=False, path_type=Path),
              help="Patients table: patient_id, treatment_start (origin of the minimum SD interval).")
@click.option("--criteria", "criteria", multiple=True, metavar="ID",
              help="Preset to apply (recist1.1, rano-bm); repeat for several. Default: both.")
@click.option("--config", "configs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Criteria YAML of a protocol variant; repeat for several.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed).")
def evaluate(lesions: Path, clinical: Path | None, patients: Path | None, criteria: tuple[str, ...],
             configs: tuple[Path, ...], out: Path) -> None:
    """Apply RECIST 1.1 / RANO-BM to a lesion table (CSV) and write the response tables."""
    from respond.criteria import evaluate as run

    try:
        result = run(lesions, clinical=clinical, criteria=list(criteria) or None,
                     config=list(configs) or None, patients=patients)
    except RespondError as exc:
        _fail_to_start(exc)
    paths = result.write(out)
    _print_summary(result)
    click.echo(f"results written to {out}/ ({', '.join(p.name for p in paths.values())})")
    if len(result.failures):
        click.echo(f"{result.failures['patient_id'].nunique()} patient(s) could not be assessed: "
                   f"see {paths['failures']}", err=True)
        sys.exit(EXIT_SOME_FAILED)


def _print_summary(result) -> None:
    best = result.best_response
    if best.empty:
        click.echo("no patient assessed")
        return
    table = best.pivot(index="patient_id", columns="criteria", values="best_overall_response").fillna("")
    click.echo("Best overall response")
    click.echo(table.to_string())
    if len(result.warnings):
        click.echo(f"{len(result.warnings)} warning(s): see warnings.csv")


if __name__ == "__main__":  # pragma: no cover
    main()

"""Command line: thin wrappers around the public API.

Exit codes: 0 every patient assessed; 3 some patients failed (results for
the others are written, failures are in ``failures.csv``); 2 the run could not
start (bad arguments, configuration or table, a missing optional dependency);
130 interrupted (Ctrl-C).
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from respond import __version__
from respond.errors import (  # noqa: F401 (every exit code stays importable from respond.cli)
    EXIT_CANNOT_START, EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, RespondError,
)
from respond.io.paths import check_output_dir
from respond.pipeline.command_options import criteria_options, treatments_option
from respond.pipeline.console import fail_to_start, say_failed_patients



#: Commands that can be continued after an interruption, and how.
RESUMABLE = {"assess": "--resume continues it"}


class _Commands(click.Group):
    """The command group; Ctrl-C ends any command with exit code 130 and one line saying so (no traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            how = RESUMABLE.get(ctx.invoked_subcommand or "")
            click.echo("interrupted" + (f"; {how}" if how else ""), err=True)
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="respond")
def main() -> None:
    """respond: tumour response assessment (RECIST 1.1, RANO-BM) from lesion tables and masks."""


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path),
                metavar="LESIONS.csv | --sdtm TU TR [RS]")
@click.option("--sdtm", is_flag=True,
              help="Inputs are CDISC SDTM TU, TR and optionally RS datasets (CSV or .xpt), in that order.")
@click.option("--evaluator", help="SDTM: keep only this evaluator's assessments (TREVAL or 'TREVAL TREVALID').")
@click.option("--clinical", type=click.Path(dir_okay=False, path_type=Path),
              help="Clinical table: patient_id, date, steroid_dose_mg, clinical_status (RANO-BM).")
@click.option("--patients", type=click.Path(dir_okay=False, path_type=Path),
              help="Patients table: patient_id, treatment_start (origin of the minimum SD interval and of "
                   "the endpoints), optional last_followup, death_date.")
@click.option("--adjudications", type=click.Path(dir_okay=False, path_type=Path),
              help="Adjudication table: patient_id, lesion_id, date, finding (tumor / radionecrosis / "
                   "pseudoprogression); overrides the imaging call of lesion local control.")
@treatments_option
@click.option("--scans", type=click.Path(dir_okay=False, path_type=Path),
              help="Scans table: patient_id, date, region (brain, chest, ... whole_body), optional visit and "
                   "lesion_count (0 = imaged, nothing found). Lesions in a region not imaged are not evaluated.")
@criteria_options
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed).")
@click.option("--report/--no-report", "make_report", default=False, show_default=True,
              help="Also write report.html and responses.xlsx.")
def evaluate(inputs: tuple[Path, ...], sdtm: bool, evaluator: str | None, clinical: Path | None,
             patients: Path | None, adjudications: Path | None, treatments: Path | None, scans: Path | None,
             criteria: tuple[str, ...], configs: tuple[Path, ...], out: Path, make_report: bool) -> None:
    """Apply RECIST 1.1 / RANO-BM to a lesion table (or SDTM TU/TR) and write the response tables.

    With --sdtm and an RS dataset, rs_comparison.csv lists where respond's
    overall response differs from the recorded one.
    """
    from respond.pipeline.evaluate import evaluate as run
    from respond.pipeline.evaluate import evaluate_sdtm

    options = dict(clinical=clinical, criteria=list(criteria) or None, config=list(configs) or None,
                   patients=patients, scans=scans)
    expected = "TU TR [RS]" if sdtm else "one LESIONS.csv"
    if (sdtm and len(inputs) not in (2, 3)) or (not sdtm and len(inputs) != 1):
        raise click.UsageError(f"expected {expected}, got {len(inputs)} file(s)")
    if sdtm and adjudications is not None:
        raise click.UsageError("--adjudications is not supported with --sdtm")
    try:
        check_output_dir(out, what="--out folder")  # before any computation
        if sdtm:
            result = evaluate_sdtm(*inputs, evaluator=evaluator, **options)
        else:
            result = run(inputs[0], adjudications=adjudications, **options)
    except RespondError as exc:
        fail_to_start(exc)
    paths = result.write(out)
    _print_summary(result)
    click.echo(f"results written to {out}/ ({', '.join(p.name for p in paths.values())})")
    _write_outcomes(out, result, patients, treatments)
    if make_report:
        from respond.report import write_report

        click.echo(f"report: {write_report(out)}")
    if "rs_comparison" in result.extra:
        qc = result.extra["rs_comparison"]
        click.echo(f"recorded responses: {int(qc['agree'].sum())} of {len(qc)} visits agree "
                   f"(see {paths['rs_comparison']})")
    if say_failed_patients(result.failures, "could not be assessed", paths["failures"]):
        sys.exit(EXIT_SOME_FAILED)


@main.command("export-sdtm")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--criteria", default="recist1.1", show_default=True, help="Criteria whose assessment is exported.")
@click.option("--study-id", default="RESPOND", show_default=True, help="STUDYID of the datasets.")
@click.option("--xpt", is_flag=True, help="Also write SAS transport (.xpt) files.")
def export_sdtm_command(run_dir: Path, out: Path, criteria: str, study_id: str, xpt: bool) -> None:
    """Write CDISC SDTM TU, TR and RS datasets from the outputs of a run."""
    from respond.io.sdtm import export_sdtm

    try:
        check_output_dir(out, what="--out folder")
        from respond.config import PRESET_IDS

        preset = criteria.strip().lower()  # preset ids are case-insensitive (RECIST1.1)
        paths = export_sdtm(run_dir, out, criteria=preset if preset in PRESET_IDS else criteria,
                            study_id=study_id, xpt=xpt)
    except RespondError as exc:
        fail_to_start(exc)
    click.echo(f"SDTM written to {out}/ ({', '.join(p.name for p in paths.values())})")


def _write_outcomes(out: Path, result, patients: Path | None, treatments: Path | None) -> None:
    from respond.pipeline.outcomes import outcomes_after_run

    try:
        outcome = outcomes_after_run(out, result, patients=patients, treatments=treatments)
    except RespondError as exc:
        fail_to_start(exc)
    if outcome is not None:
        click.echo(f"study outcomes written to {out}/ (indices, outcomes, cox, doses, cumulative_incidence)")
        say_failed_patients(outcome.failures, "left out of the outcomes", out / "outcome_failures.csv")


def _print_summary(result) -> None:
    best = result.best_response
    if best.empty:
        click.echo("no patient assessed")
        return
    from respond.pipeline.console import best_response_lines

    for line in best_response_lines(best):
        click.echo(line)
    if len(result.warnings):
        click.echo(f"{len(result.warnings)} warning(s): see warnings.csv")


from respond.pipeline.summarize_command import summarize_command  # noqa: E402
from respond.measure.command import measure_command  # noqa: E402
from respond.pipeline.track_command import track_command  # noqa: E402
from respond.report.command import report_command  # noqa: E402
from respond.pipeline.command import assess_command  # noqa: E402
from respond.pipeline.outcomes_command import outcomes_command  # noqa: E402

main.add_command(summarize_command, "summarize")
main.add_command(measure_command, "measure")
main.add_command(track_command, "track")
main.add_command(report_command, "report")
main.add_command(assess_command, "assess")
main.add_command(outcomes_command, "outcomes")


if __name__ == "__main__":  # pragma: no cover
    main()

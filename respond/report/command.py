"""``respond report DIR``: the HTML report and spreadsheet of a run's outputs."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from respond.errors import EXIT_CANNOT_START, RespondError
from respond.io.paths import check_output_file


@click.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the HTML report (default: RUN_DIR/report.html).")
@click.option("--title", help="Title of the report.")
def report_command(run_dir: Path, out: Path | None, title: str | None) -> None:
    """Write RUN_DIR/report.html (self-contained, figures embedded) and RUN_DIR/responses.xlsx."""
    from respond.report import write_report

    if not (run_dir / "best_response.csv").is_file():
        click.echo(f"error: {run_dir} holds no best_response.csv: give the output folder of "
                   "respond evaluate or respond assess", err=True)
        sys.exit(EXIT_CANNOT_START)
    try:
        if out is not None:
            check_output_file(out, what="--out file")
        path = write_report(run_dir, out=out, title=title)
    except RespondError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_CANNOT_START)
    click.echo(f"report written to {path} (and {run_dir / 'responses.xlsx'})")

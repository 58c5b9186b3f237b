"""`stockflow ingest` and `stockflow validate`: price files in, checked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from flows.cli.base import Root, command, echo_error, setup, workspace


@command
def ingest(
    source: Annotated[
        str,
        typer.Option(
            help="KIND:ARG, one of the sources of tasks/sources/: sample:sp500 or sample:nasdaq (embedded real "
            "data), csv:PATH (a daily CSV as Yahoo, Kaggle, nasdaq.com or Stooq give it, read as-is; what is "
            "normalised is said), and any other source there."
        ),
    ] = "sample:sp500",
    ticker: Annotated[
        Optional[str],
        typer.Option(
            "--ticker",
            "-t",
            help="Store as data/TICKER.csv (a source of one series). Default: the source's name "
            "for it (the sample's, the CSV file's).",
        ),
    ] = None,  # fmt: skip
    root: Root = None,
) -> None:
    """Validate a price file, copy it to data/TICKER.csv and record it as a new DVC data version.

    A file that fails validation is refused: data/ and data.dvc stay exactly as they were.
    """
    setup()
    from stockflow.errors import check_ticker
    from tasks.commands.ingest import ingest as do_ingest

    ws = workspace(root)
    notes: list[str] = []
    paths = do_ingest(ws, ws.load_params(), source, None if ticker is None else check_ticker(ticker), notes)
    for note in notes:
        typer.echo(f"normalised: {note}")
    typer.echo(f"{', '.join(str(p.relative_to(ws.root)) for p in paths)} written and recorded in data.dvc.")


@command
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Price CSV files to check.", show_default=False)],
    root: Root = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
) -> None:
    """Check price files against the expectation suite (expectations/ohlcv.json).

    Exit code 0: all pass (warnings allowed); 1: a rule failed; 2: a file cannot be read.
    """
    setup()
    import json

    from stockflow.errors import PriceFileError
    from tasks.stages.validate import check_file

    ws = workspace(root)
    params = ws.load_params()
    code, reports = 0, []
    for path in paths:
        try:
            report = check_file(ws, params, path)
        except PriceFileError as exc:
            echo_error(str(exc))
            code = 2
            continue
        reports.append(report.to_dict())
        if not as_json:
            typer.echo(report.to_text())
        if not report.success:
            code = max(code, 1)
    if as_json:
        typer.echo(json.dumps(reports, indent=2, default=str))
    raise typer.Exit(code)

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
            "normalised is said), skfolio:sp500 (20 stocks' closes), panel:FILE (one long file of many tickers: "
            "csv, csv.gz, parquet), stooq:PATH (Stooq's bulk download: a folder, .zip or .tar.gz), and any other "
            "source there."
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
    universe: Annotated[
        Optional[str],
        typer.Option(
            help="Define the universe NAME as the tickers ingested (data/universes/NAME.txt, versioned "
            "with the data): `stockflow run --universe NAME` then trains them. Bad bars are masked "
            "(validate.universe_policy), not refused."
        ),
    ] = None,  # fmt: skip
    tickers: Annotated[
        Optional[str], typer.Option("--tickers", help="Only these tickers of a market source: a,b,c.")
    ] = None,
    tickers_file: Annotated[
        Optional[Path], typer.Option("--tickers-file", help="Only the tickers listed in this file, one a line.")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Take a past that differs from the one held (not only re-adjusted).")
    ] = False,
    root: Root = None,
) -> None:
    """Validate price data, store it as data/TICKER.csv and record it as a new DVC data version.

    A file that fails validation is refused: data/ and data.dvc stay exactly as they were. A market
    (panel:FILE, stooq:PATH) is checked in one pass and stored in one process; with --universe its
    bad bars are masked and named, and the tickers stored become the universe.
    """
    setup()
    from stockflow.errors import UsageError, check_ticker
    from tasks import sources
    from tasks.commands.ingest import ingest as do_ingest

    ws = workspace(root)
    if sources.is_market(source) and ticker is None:
        from tasks.commands.ingest_market import ingest_market, read_tickers

        done = ingest_market(ws, ws.load_params(), source, universe, read_tickers(tickers, tickers_file), replace)
        for line in done.lines():
            typer.echo(line)
        return
    if universe is not None or tickers is not None or tickers_file is not None:
        raise UsageError("--universe, --tickers and --tickers-file take a market source (panel:FILE, stooq:PATH)")
    notes: list[str] = []
    paths = do_ingest(ws, ws.load_params(), source, None if ticker is None else check_ticker(ticker), notes)
    for note in notes:
        typer.echo(f"normalised: {note}")
    typer.echo(f"{', '.join(str(p.relative_to(ws.root)) for p in paths)} written and recorded in data.dvc.")


@command
def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Price CSV files to check, or a market source (panel:FILE, stooq:PATH): every bar of "
            "every ticker in one pass, findings grouped by rule.",
            show_default=False,
        ),
    ],
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
    from tasks import sources

    if any(sources.is_market(str(p)) for p in paths):
        from tasks.stages.universe_validate import check_market

        for spec in map(str, paths):
            checked = check_market(params, spec)
            masked = checked.findings["action"].isin(["masked", "dropped"]).any() or checked.dropped
            code = max(code, 1 if masked else 0)
            if as_json:
                reports.append(
                    {
                        "source": spec,
                        **checked.counts(),
                        "by_rule": checked.by_rule(),
                        "dropped": checked.dropped,
                        "findings": json.loads(checked.findings.to_json(orient="records", date_format="iso")),
                    }
                )
            else:
                typer.echo(
                    f"{spec}: {checked.counts()['tickers']} tickers, "
                    + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in checked.counts().items() if k != "tickers")
                )
                for line in checked.lines():
                    typer.echo("  " + line)
        if as_json:
            typer.echo(json.dumps(reports, indent=2, default=str))
        raise typer.Exit(code)
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

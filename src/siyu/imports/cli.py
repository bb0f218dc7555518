"""`siyu import customers|orders|events FILE`."""

import typer

app = typer.Typer(help="Import customers, orders or events from CSV, XLSX or JSONL.",
                  no_args_is_help=True)

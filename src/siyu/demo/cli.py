"""`siyu demo`: build the demo brand."""

import typer


def demo(if_empty: bool = typer.Option(False, "--if-empty")) -> None:
    """Build the demo brand."""
    raise typer.Exit(0)

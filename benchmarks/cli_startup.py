"""How fast the `siyu` command answers: `siyu --help` and the light commands, each a fresh process,
against what Python itself needs in the same run (`python -c pass`, and SQLAlchemy, the floor of
any command that reads the database).

Usage: python benchmarks/cli_startup.py [--runs N] [--data DIR]
           [--before-src SRC --before-python PY --before-data DIR]

--data: a folder holding siyu.db and lake/ (the demo brand is built there if it has no customers;
default: a new temporary folder). --before-src / --before-python: also time another checkout's
`src` run by another Python (an older commit, in a venv as `make install` left it then), in the
same rounds, on a demo database of its own (--before-data: its schema is that commit's).

The runs are interleaved, one of each command per round, so every command sees the same load;
the table shows the median wall time and the median CPU time (user + system).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.ingest import machine  # noqa: E402

# (label, arguments of `siyu`); a placeholder in braces is filled from the demo data.
COMMANDS: list[tuple[str, list[str]]] = [
    ("siyu --help", ["--help"]),
    ("siyu customers --help", ["customers", "--help"]),
    ("siyu db upgrade", ["db", "upgrade"]),
    ("siyu staff list", ["staff", "list"]),
    ("siyu staff handover list", ["staff", "handover", "list"]),
    ("siyu segment list", ["segment", "list"]),
    ("siyu codes list", ["codes", "list"]),
    ("siyu codes show CODE", ["codes", "show", "{code}"]),
    ("siyu customers show ID", ["customers", "show", "{customer}"]),
    ("siyu tokens list", ["tokens", "list"]),
    ("siyu keys list", ["keys", "list"]),
    ("siyu touchpoints list", ["touchpoints", "list"]),
    ("siyu tasks list", ["tasks", "list"]),
    ("siyu inbox dead-letters", ["inbox", "dead-letters"]),
]
BASELINES: list[tuple[str, list[str]]] = [
    ("python -c pass", ["-c", "pass"]),
    ("python -c 'import sqlalchemy.orm'", ["-c", "import sqlalchemy.orm"]),
]
RUN_SIYU = "import sys; from siyu.cli import app; sys.exit(app())"


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def variant_env(folder: Path, **extra: str) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "SIYU_DATABASE_URL": f"sqlite:///{folder / 'siyu.db'}",
        "SIYU_LAKE": str(folder / "lake"),
        "PYTHONDONTWRITEBYTECODE": "1",  # each run finds what is installed, and changes nothing
        "COLUMNS": "120",
        **extra,
    }


def prepare(data: Path, env: dict[str, str], python: str) -> dict[str, str]:
    """The demo brand in DATA (built if empty), and the values the commands' placeholders take."""
    siyu = [python, "-c", RUN_SIYU]
    subprocess.run([*siyu, "demo", "--if-empty"], env=env, cwd=data, check=True, stdout=sys.stderr)
    codes = json.loads(
        subprocess.run(
            [*siyu, "codes", "list", "--json"],
            env=env,
            cwd=data,
            check=True,
            text=True,
            capture_output=True,
        ).stdout
    )
    return {"code": codes[0]["code"] if codes else "none", "customer": "1"}


def main(
    runs: int = 7,
    data: str | None = None,
    before_src: str | None = None,
    before_python: str | None = None,
    before_data: str | None = None,
    as_json: bool = False,
) -> dict:
    def folder(given: str | None) -> Path:
        return Path(given or tempfile.mkdtemp(prefix="siyu-cli-bench-")).resolve()

    variants: dict[str, tuple[str, Path, dict[str, str]]] = {
        "now": (sys.executable, folder(data), {})
    }
    if before_src:
        python = before_python or sys.executable
        variants["before"] = (python, folder(before_data), {"PYTHONPATH": before_src})
    cases: list[tuple[str, str, list[str], dict[str, str], Path]] = []
    for name, (python, where, extra) in variants.items():
        env = variant_env(where, **extra)
        values = prepare(where, env, python)
        if name == "now":
            cases += [(lbl, name, [python, *a], env, where) for lbl, a in BASELINES]
        for label, args in COMMANDS:
            filled = [a.format(**values) for a in args]
            cases.append((label, name, [python, "-c", RUN_SIYU, *filled], env, where))
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {(c[0], c[1]): [] for c in cases}
    load_before = round(os.getloadavg()[0], 1)
    for _ in range(runs):
        for label, variant, argv, case_env, where in cases:
            samples[(label, variant)].append(timed(argv, case_env, where))
    rows: dict[str, dict] = {}
    for (label, variant), found in samples.items():
        row = rows.setdefault(label, {"command": label})
        row[f"{variant}_wall_s"] = round(statistics.median(w for w, _ in found), 3)
        row[f"{variant}_cpu_s"] = round(statistics.median(c for _, c in found), 3)
    answer = {
        "machine": {
            **machine(),
            "load_1m": load_before,
            "load_1m_after": round(os.getloadavg()[0], 1),
        },
        "runs": runs,
        "rows": list(rows.values()),
    }
    if as_json:
        print(json.dumps(answer, indent=2))
        return answer
    table = Table("command", *(f"{v}: wall / CPU" for v in variants))
    for row in rows.values():
        table.add_row(
            row["command"],
            *(
                f"{row[f'{v}_wall_s']:.2f} s / {row[f'{v}_cpu_s']:.2f} s"
                if f"{v}_wall_s" in row
                else ""
                for v in variants
            ),
        )
    Console().print(table)
    Console().print(f"median of {runs} runs; machine: {answer['machine']}")
    return answer


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--data")
    parser.add_argument("--before-src")
    parser.add_argument("--before-python")
    parser.add_argument("--before-data")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    main(
        options.runs,
        options.data,
        options.before_src,
        options.before_python,
        options.before_data,
        options.json,
    )

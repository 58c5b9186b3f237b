"""`python -m tasks STAGE TICKER`: how dvc.yaml runs a stage (see tasks/services/dvc_stage.py).

`dvc repro` runs it with whatever `python` is first on PATH. Called as `.venv/bin/dvc repro` from a shell whose
venv is not active, that is the system's Python, without the project's libraries: the stage then runs again under
the project's own interpreter (.venv/bin/python), or, where there is none, says in one line what to do.
"""

import os
import sys
from pathlib import Path


def _in_project_environment() -> None:
    try:
        import pandas  # noqa: F401  (any of the project's dependencies tells)
        import yaml  # noqa: F401
    except ModuleNotFoundError as exc:
        venv_python = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python"
        if venv_python.is_file() and not os.environ.get("STOCKFLOW_VENV_TRIED"):  # once: a broken venv would loop
            os.environ["STOCKFLOW_VENV_TRIED"] = "1"
            os.execv(str(venv_python), [str(venv_python), "-m", "tasks", *sys.argv[1:]])
        sys.exit(f"stockflow: {sys.executable} lacks the project's libraries ({exc.name}): "
                 "`source .venv/bin/activate` first, or run `make repro`")  # fmt: skip


if __name__ == "__main__":
    _in_project_environment()
    from tasks.services.process import exit_without_hooks, quiet, raise_on_signals

    if len(sys.argv) != 3:
        sys.exit("usage: python -m tasks STAGE TICKER")
    quiet()
    raise_on_signals()
    from tasks.services.dvc_stage import main

    # Each stage is a process of its own under DVC: its record is complete when main returns.
    exit_without_hooks(main(sys.argv[1], sys.argv[2]))

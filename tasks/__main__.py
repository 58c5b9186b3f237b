"""`python -m tasks STAGE TICKER`: how dvc.yaml runs a stage (see tasks/services/dvc_stage.py)."""

import sys

from tasks.services.process import exit_without_hooks, quiet, raise_on_signals

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m tasks STAGE TICKER")
    quiet()
    raise_on_signals()
    from tasks.services.dvc_stage import main

    # Each stage is a process of its own under DVC: its record is complete when main returns.
    exit_without_hooks(main(sys.argv[1], sys.argv[2]))

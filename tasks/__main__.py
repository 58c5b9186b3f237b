"""`python -m tasks STAGE TICKER`: how dvc.yaml runs a stage (see tasks/dvc_stage.py)."""

import sys

from tasks.process import quiet, raise_on_signals

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m tasks STAGE TICKER")
    quiet()
    raise_on_signals()
    from tasks.dvc_stage import main

    sys.exit(main(sys.argv[1], sys.argv[2]))

"""`python -m tasks STAGE`: how dvc.yaml runs a stage."""

import sys

from tasks.project import STAGES
from tasks.quiet import quiet

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in STAGES:
        sys.exit(f"usage: python -m tasks {{{','.join(STAGES)}}}")
    quiet()
    from tasks.pipeline import dvc_stage

    sys.exit(dvc_stage(sys.argv[1]))

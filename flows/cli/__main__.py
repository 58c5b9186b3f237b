"""`python -m flows.cli`: the `stockflow` command with this checkout's code (reproduce runs it in a worktree)."""

from flows.cli import main

main()

"""`python -m tools.cli`: the `stepcanvas` command without its console script."""

from tools.cli.app import main

main()

"""`python -m spotcheck` is the `spotcheck` command."""

from spotcheck.cli import main

main()

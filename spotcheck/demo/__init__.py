"""The demo of `spotcheck demo` / `make run`: sample county, plans, results and the summary."""

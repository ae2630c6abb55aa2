"""The three sample plans of the demo (YAML, as `spotcheck plan submit` takes them)."""

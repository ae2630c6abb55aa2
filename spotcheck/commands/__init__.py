"""Sub-commands of the spotcheck command line, one module per area."""

"""Pure domain logic of the planner service: no I/O here."""

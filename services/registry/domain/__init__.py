"""Pure domain logic of the registry service: no I/O here."""

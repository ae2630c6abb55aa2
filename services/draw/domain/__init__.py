"""Pure domain logic of the draw service: no I/O here."""

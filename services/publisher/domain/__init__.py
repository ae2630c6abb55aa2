"""Pure domain logic of the publisher service: no I/O here."""

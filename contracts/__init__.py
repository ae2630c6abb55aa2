"""Shared types of spotcheck: every event, request/reply and HTTP body that crosses a service
boundary. Services import this package; nothing else is shared between them."""

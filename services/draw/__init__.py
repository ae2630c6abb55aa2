"""The draw service."""

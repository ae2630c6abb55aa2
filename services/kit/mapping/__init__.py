"""Platform mapping files: what spotcheck exchanges with an outside platform, without code.

Pure but for `read_mapping_dir` (a folder → its files' bytes by name). `load_mappings` checks
files against a `Vocabulary` (every error with file and line); `render`/`encode` write an
outbound record, `read` takes an inbound one. docs/operations.md, "Connecting your platforms".
"""

from services.kit.mapping.check import (
    LoadedMapping,
    MappingError,
    MappingInvalid,
    Vocabulary,
    claimed,
    load_mapping,
    load_mappings,
)
from services.kit.mapping.files import read_mapping_dir
from services.kit.mapping.model import FieldMap, PlatformMapping, RecordMap
from services.kit.mapping.render import RenderError, encode, encode_rows, read, render

__all__ = [
    "FieldMap",
    "LoadedMapping",
    "MappingError",
    "MappingInvalid",
    "PlatformMapping",
    "RecordMap",
    "RenderError",
    "Vocabulary",
    "claimed",
    "encode",
    "encode_rows",
    "load_mapping",
    "load_mappings",
    "read",
    "read_mapping_dir",
    "render",
]

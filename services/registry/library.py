"""The registry's file formats and synthetic directories as a library.

`spotcheck registry import` cuts a file into chunks in the encoding the registry detects,
`spotcheck registry generate` and the demo's county write files the registry accepts: they use
the registry's own definitions, through this module and nothing else of the registry. It only
gathers the pure domain (`domain/parsing.py`, `domain/rows.py`, `domain/codes.py`,
`domain/vocabulary.py`, `domain/synthetic.py`); it never touches the registry's wiring, store
or messages.
"""

from __future__ import annotations

from services.registry.domain import synthetic
from services.registry.domain.codes import industries, regions
from services.registry.domain.parsing import SAMPLE_BYTES, detect_encoding
from services.registry.domain.rows import ENTITY_FIELDS, INSPECTOR_FIELDS
from services.registry.domain.synthetic import entity_uscc
from services.registry.domain.vocabulary import DEFAULT_EXPERTISE

__all__ = [
    "DEFAULT_EXPERTISE",
    "ENTITY_FIELDS",
    "INSPECTOR_FIELDS",
    "SAMPLE_BYTES",
    "detect_encoding",
    "entity_uscc",
    "industries",
    "regions",
    "synthetic",
]

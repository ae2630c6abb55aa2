"""JSON read with the line where each object and list starts, for errors that name the line.

A file a province sends (a catalogue export, a platform's receipts) is refused row by row with
its file and line; `json.loads` forgets where a value was. The stdlib's pure-Python scanner
takes its object and array parsers from the decoder: these note where each starts, by the
value's `id` (valid while the returned document lives).
"""

from __future__ import annotations

import json
import json.scanner
from typing import Any, cast


def load_with_lines(text: str) -> tuple[Any, dict[int, int]]:
    """The document and, by `id()`, the 1-based line where each of its objects and lists
    starts; `json.JSONDecodeError` as `json.loads` raises it."""
    lines: dict[int, int] = {}
    # typeshed does not describe these attributes of the decoder.
    decoder: Any = json.JSONDecoder()
    parse_object, parse_array = decoder.parse_object, decoder.parse_array

    def noted(parse: Any) -> Any:
        def located(s_and_end: tuple[str, int], *args: Any) -> tuple[Any, int]:
            value, end = parse(s_and_end, *args)
            s, start = s_and_end
            lines[id(value)] = s.count("\n", 0, start) + 1
            return value, end

        return located

    decoder.parse_object = noted(parse_object)
    decoder.parse_array = noted(parse_array)
    decoder.scan_once = cast(Any, json.scanner).py_make_scanner(decoder)
    return decoder.decode(text), lines

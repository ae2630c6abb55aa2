"""YAML to plain data, keeping the line of every value so that errors can name it.

PyYAML's composer gives nodes with `start_mark`; we build the data ourselves from the nodes and
record `path → line` on the way. Floats are kept as their source text: a ratio or factor is
then parsed exactly from the digits the author wrote, never through a binary float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


class YamlError(Exception):
    """The text is not valid YAML (or has a duplicate key); carries the line."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class Located:
    """Data read from one YAML document plus the line (1-based) of every path in it."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """Line of the value at `path`, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), 1)


_FLOAT_TAG = "tag:yaml.org,2002:float"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def load(text: str) -> Located:
    """Parse one YAML document; an empty document gives `{}`."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise YamlError(f"not valid YAML: {exc.problem or exc}", line) from exc
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML: {exc}", 1) from exc
    located = Located(data={})
    try:
        if node is not None:
            located.data = _build(node, (), located.lines, loader)
    finally:
        loader.dispose()
    return located


def _build(node: yaml.Node, path: Path, lines: dict[Path, int], loader: yaml.SafeLoader) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, loader) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int) or isinstance(key, bool):
                raise YamlError("mapping keys must be plain words", key_node.start_mark.line + 1)
            key = str(key)
            if key in out:
                raise YamlError(f"duplicate key {key!r}", key_node.start_mark.line + 1)
            out[key] = _build(value_node, (*path, key), lines, loader)
            # Point at the key: a block value starts on the line below it.
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*path, i), lines, loader) for i, child in enumerate(node.value)]
    return _scalar(node, loader)


def _scalar(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if node.tag == _FLOAT_TAG:
        # Keep the author's digits: "0.5" stays "0.5" and is parsed exactly downstream.
        return str(node.value)
    try:
        return loader.construct_object(node, deep=True)
    except ValueError:
        # A date-shaped value that is no date (2027-13-04): keep the text, so the schema
        # refuses it with its field name, like any other bad value.
        if node.tag == _TIMESTAMP_TAG:
            return str(node.value)
        raise YamlError(f"cannot read value {node.value!r}", node.start_mark.line + 1) from None
    except yaml.constructor.ConstructorError as exc:
        raise YamlError(f"cannot read value: {exc.problem}", node.start_mark.line + 1) from exc

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
    """The text is not valid YAML (or has a duplicate key); carries the line, and the reason
    in Chinese (`message_zh`)."""

    def __init__(self, message: str, line: int, message_zh: str) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.message_zh = message_zh


_PROBLEMS_ZH = (
    ("found character '\\t'", "含有制表符（Tab）：YAML 只能用空格缩进"),
    (
        "mapping values are not allowed",
        "这里不能写“字段: 值”：多半是缩进不对，或冒号后的值需要加引号",
    ),
    ("could not find expected ':'", "缺少冒号“:”，或引号没有配对"),
    ("expected <block end>", "缩进不一致：同一层的各行须对齐"),
    ("found unexpected end of stream", "文件意外结束：引号或括号没有闭合"),
    ("found unexpected ':'", "多了一个冒号“:”：含冒号的文本请加引号"),
    ("expected ',' or ']'", "方括号 [ ] 的列表没有正确结束：缺少“,”或“]”"),
    ("expected ',' or '}'", "花括号 { } 没有正确结束：缺少“,”或“}”"),
    ("found undefined alias", "引用了未定义的锚点（*别名）"),
    ("expected a single document", "一个文件只能有一个 YAML 文档（不要用“---”分成多份）"),
    ("found character", "含有不能出现在此处的字符（如 @ 或 `）：请给这段文本加引号"),
    ("did not find expected key", "缩进不一致：这里应是同一层的下一个字段"),
    ("did not find expected '-' indicator", "列表的缩进不一致：各项须以对齐的“- ”开头"),
)


def problem_zh(problem: str) -> str:
    """PyYAML's problem in Chinese, keeping its English after it for reference."""
    for start, zh in _PROBLEMS_ZH:
        if start in problem:
            return f"不是有效的 YAML：{zh}（{problem}）"
    return f"不是有效的 YAML：{problem}"


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
        problem = str(exc.problem or exc)
        raise YamlError(f"not valid YAML: {problem}", line, problem_zh(problem)) from exc
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML: {exc}", 1, problem_zh(str(exc))) from exc
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
                raise YamlError(
                    "mapping keys must be plain words",
                    key_node.start_mark.line + 1,
                    "字段名须是普通的词（不能是列表、映射或空值）",
                )
            key = str(key)
            if key in out:
                raise YamlError(
                    f"duplicate key {key!r}",
                    key_node.start_mark.line + 1,
                    f"字段 {key} 在同一处写了两次",
                )
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
        raise YamlError(
            f"cannot read value {node.value!r}",
            node.start_mark.line + 1,
            f"无法读取取值 {node.value!r}",
        ) from None
    except yaml.constructor.ConstructorError as exc:
        raise YamlError(
            f"cannot read value: {exc.problem}",
            node.start_mark.line + 1,
            f"无法读取取值：{exc.problem}",
        ) from exc

"""Reading a rule directory from disk (the I/O the pure domain leaves to its callers)."""

from __future__ import annotations

from pathlib import Path

MAX_FILE_BYTES = 1_000_000
PLANS_DIR = "plans"
"""`rules/plans/`: sample annual plans (`spotcheck plan submit rules/plans/…`)."""


def read_rule_dir(directory: str | Path) -> dict[str, bytes]:
    """Every `*.yaml`/`*.yml` under `directory` (tests included, sample `plans/` not) by
    relative POSIX path."""
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"rule directory {root} does not exist")
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == PLANS_DIR:
            continue  # sample plans live beside the rules but are no part of the rule set
        if path.is_file() and path.suffix in (".yaml", ".yml"):
            data = path.read_bytes()
            if len(data) > MAX_FILE_BYTES:
                raise ValueError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
            out[rel.as_posix()] = data
    return out


def case_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files of `tests/` (rules/tests/*.yaml)."""
    return {p: b for p, b in files.items() if p.startswith("tests/")}

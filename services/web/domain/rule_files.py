"""Rule files as policy staff hand them to the console: an uploaded folder (a zip) or single
YAML files laid over the set they start from, and how a candidate differs from the active set;
a plan as stored, made submittable again for a simulation."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from typing import Any

MAX_FILES = 300
MAX_BYTES = 2 * 1024 * 1024
RULE_SUFFIXES = (".yaml", ".yml")


class UploadRefused(ValueError):
    """An upload the console cannot read; the message is for the person."""


def _decode(name: str, content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadRefused(f"{name} 不是 UTF-8 编码的文本文件") from None


def files_of_zip(content: bytes) -> dict[str, str]:
    """The YAML files of a zipped rule folder, by their path in it (a single top folder such
    as `rules/` is dropped)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise UploadRefused("压缩文件无法读取（应为 zip 格式）") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_FILES or sum(m.file_size for m in members) > MAX_BYTES:
        raise UploadRefused("压缩文件中的文件过多或过大")
    out: dict[str, str] = {}
    for m in members:
        path = m.filename.replace("\\", "/").lstrip("/")
        if ".." in path.split("/") or not path.endswith(RULE_SUFFIXES):
            continue
        if any(part.startswith(".") or part == "__MACOSX" for part in path.split("/")):
            continue
        out[path] = _decode(path, archive.read(m))
    if not out:
        raise UploadRefused("压缩文件中没有 YAML 规则文件")
    tops = {p.split("/", 1)[0] for p in out}
    if len(tops) == 1 and all("/" in p for p in out):
        top = next(iter(tops)) + "/"
        out = {p.removeprefix(top): t for p, t in out.items()}
    return out


def overlay(base: Mapping[str, str], uploads: Mapping[str, bytes]) -> dict[str, str]:
    """`base` with each uploaded YAML file in place of the file of the same name: the one at
    the top of the folder, else the only one of that name in a subfolder (`tests/joint.yaml`
    is reached as `tests/joint.yaml` or, when unique, as `joint.yaml`); a new name is added."""
    out = dict(base)
    for name, content in uploads.items():
        path = name.replace("\\", "/").rsplit("/", 1)[-1]
        if not path.endswith(RULE_SUFFIXES):
            raise UploadRefused(f"{name} 不是 YAML 文件（.yaml 或 .yml）")
        if path not in base:
            same = [p for p in base if p.rsplit("/", 1)[-1] == path]
            if len(same) == 1:
                path = same[0]
        out[path] = _decode(name, content)
    return out


def changes(active: Mapping[str, str], candidate: Mapping[str, str]) -> dict[str, str]:
    """Each file's change from the active set: `changed`, `added`, `removed` (none: same)."""
    out: dict[str, str] = {}
    for path in sorted(set(active) | set(candidate)):
        if path not in active:
            out[path] = "added"
        elif path not in candidate:
            out[path] = "removed"
        elif active[path] != candidate[path]:
            out[path] = "changed"
    return out


def resubmittable(submission: Mapping[str, Any]) -> dict[str, Any]:
    """A stored plan submission as the planner reads a new one: ratios are stored in basis
    points (integers) and written back as `"<bp>bp"`."""
    plan = dict(submission)
    plan["items"] = [
        {**entry, "ratio": f"{entry['ratio']}bp"} if isinstance(entry.get("ratio"), int) else entry
        for entry in submission.get("items", [])
    ]
    return plan


def differs(row: Mapping[str, Any]) -> bool:
    """Whether a simulated stratum comes out differently under the candidate rules."""
    keys = (
        ("active_bp", "candidate_bp"),
        ("active_k", "candidate_k"),
        ("active_excluded", "candidate_excluded"),
    )
    return any(row.get(a) != row.get(c) for a, c in keys)

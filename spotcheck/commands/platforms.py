"""`spotcheck platforms check [DIR]`: the outside platforms' mapping files, checked offline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from spotcheck.client import fail

app = typer.Typer(
    help="Outside platforms (公示系统, 执法服务网, 监督平台): mapping files", no_args_is_help=True
)

DirArg = Annotated[
    Path | None,
    typer.Argument(
        help="Mapping folder (default: SPOTCHECK_PUBLISHER_PLATFORMS_DIR, else deploy/platforms)"
    ),
]


def _dir(directory: Path | None) -> Path:
    if directory is not None:
        return directory
    from services.publisher.settings import load_publisher_settings

    configured = load_publisher_settings().platforms_dir
    return Path(configured) if configured else Path("deploy/platforms")


@app.command()
def check(directory: DirArg = None) -> None:
    """Check every mapping file; each error as `file:line: reason`, its Chinese reason on the
    next line; exit 1 on errors. URLs and tokens named by environment variables are not read
    (they are checked when the publisher starts). Inbound files are checked against the
    records of the service that reads them: the 互联网+监管 catalogue export's columns against
    the planner's, the 监督平台's plan receipts against the publisher's."""
    from services.kit.mapping import (
        LoadedMapping,
        MappingError,
        MappingInvalid,
        Vocabulary,
        claimed,
        load_mapping,
        load_mappings,
        read_mapping_dir,
    )
    from services.kit.mapping.model import Direction
    from services.planner.domain.export_mapping import VOCABULARY as CATALOGUE
    from services.publisher.domain.categories import load_categories
    from services.publisher.domain.platforms import RECEIPT_VOCABULARY, vocabulary

    folder = _dir(directory)
    try:
        files = read_mapping_dir(folder)
    except (OSError, ValueError) as exc:
        fail(str(exc))
    if not files:
        fail(f"no mapping files (*.yaml) in {folder}")
    # Outbound files against the publisher's records, inbound ones against the records of the
    # service reading them (the 互联网+监管 catalogue export: the planner's; the 监督平台's
    # receipts: the publisher's); a shape error is found by every pass, reported once.
    loaded: dict[str, LoadedMapping] = {}
    errors: list[MappingError] = []
    passes: list[tuple[Direction, Vocabulary]] = [
        ("outbound", vocabulary(load_categories())),
        ("inbound", CATALOGUE),
        ("inbound", RECEIPT_VOCABULARY),
    ]
    for direction, vocab in passes:
        try:
            found = load_mappings(files, vocab, direction=direction)
        except MappingInvalid as exc:
            errors += [e for e in exc.errors if e not in errors]
            continue
        loaded.update({m.file: m for m in found.values()})
    if not errors:
        inbound = [v for d, v in passes if d == "inbound"]
        for name in sorted(files):
            if name in loaded:
                continue
            # An inbound file no service's records claimed (its shape is checked already).
            shaped = load_mapping(name, files[name], CATALOGUE, direction="outbound").mapping
            if not claimed(shaped, inbound):
                kinds = ", ".join(shaped.records)
                errors.append(
                    MappingError(
                        name,
                        1,
                        f"no service reads inbound records {kinds}"
                        " (catalogue_item: the planner; plan_receipt: the publisher)",
                        f"没有服务读取记录类型 {kinds}（可用：catalogue_item、plan_receipt）",
                    )
                )
    if errors:
        for err in errors:
            print(str(err), file=sys.stderr)
            if err.reason_zh:
                print(f"    {err.reason_zh}", file=sys.stderr)
        fail(
            f"{len(errors)} error(s); the mappings are refused"
            f" — 映射文件未通过检查，共 {len(errors)} 处错误"
        )
    for m in sorted(loaded.values(), key=lambda m: (m.mapping.platform, m.file)):
        pid = m.mapping.platform
        t = m.mapping.transport
        how = (
            f"{m.mapping.direction}, {m.mapping.encoding}"
            if t is None
            else f"{t.kind}, {m.mapping.encoding}"
        )
        kinds = "/".join(m.mapping.records)
        print(f"ok: {pid} ({m.mapping.name}) {kinds} — {how} — {m.file} sha256 {m.sha256[:12]}")

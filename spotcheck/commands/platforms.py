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
    (they are checked when the publisher starts)."""
    from services.kit.mapping import MappingInvalid, load_mappings, read_mapping_dir
    from services.publisher.domain.categories import load_categories
    from services.publisher.domain.platforms import vocabulary

    folder = _dir(directory)
    try:
        files = read_mapping_dir(folder)
    except (OSError, ValueError) as exc:
        fail(str(exc))
    if not files:
        fail(f"no mapping files (*.yaml) in {folder}")
    try:
        loaded = load_mappings(files, vocabulary(load_categories()), direction="outbound")
    except MappingInvalid as exc:
        for err in exc.errors:
            print(str(err), file=sys.stderr)
            if err.reason_zh:
                print(f"    {err.reason_zh}", file=sys.stderr)
        fail(
            f"{len(exc.errors)} error(s); the mappings are refused"
            f" — 映射文件未通过检查，共 {len(exc.errors)} 处错误"
        )
    for pid, m in sorted(loaded.items()):
        t = m.mapping.transport
        how = "" if t is None else f"{t.kind}, {m.mapping.encoding}"
        kinds = "/".join(m.mapping.records)
        print(f"ok: {pid} ({m.mapping.name}) {kinds} — {how} — {m.file} sha256 {m.sha256[:12]}")

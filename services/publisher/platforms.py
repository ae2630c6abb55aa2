"""The outside platforms' adapters: one interface, over HTTP (JSON or form) or a file drop.

Built once at startup from the mapping folder (`SPOTCHECK_PUBLISHER_PLATFORMS_DIR`): every
file checked (services/kit/mapping; a bad one refuses the start, naming file, line and
reason), then each platform's URL, token and certificate resolved — a URL or token named by an
environment variable that is not set is refused at startup too, not at the first delivery.
Relative paths in a mapping (a token file, a certificate, a drop folder) are read from the
mapping's folder. The relay hands each `platform:<id>` row to its adapter; the adapter writes
the record with the mapping and sends it under the row's idempotency key:

- HTTP: a POST with `Idempotency-Key`, the mapping's content type and charset, the bearer
  token or client certificate; 2xx is delivered, 4xx (but 408/409/425/429) a dead letter,
  anything else retried (services/publisher/domain/delivery.py).
- File drop: one file per record, named by its key, written beside and renamed into place, so
  a platform's batch job never reads half a file and a repeat overwrites the same file.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from services.kit.errors import Invalid
from services.kit.mapping import (
    LoadedMapping,
    PlatformMapping,
    RenderError,
    encode,
    encode_rows,
    load_mappings,
    read_mapping_dir,
    render,
)
from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.delivery import http_failure_is_permanent
from services.publisher.domain.platforms import (
    DATE_FIELDS,
    RECEIPT_VOCABULARY,
    SUMMARY_KIND,
    vocabulary,
)
from services.publisher.http_post import HttpError, HttpPoster
from services.publisher.settings import PublisherSettings


class PlatformFailed(Exception):
    """One attempt failed; `permanent` means retrying cannot help (the relay's dead letter)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Adapter(Protocol):
    """What the relay needs of a platform."""

    async def send(self, *, kind: str, record: Record, key: str) -> None:
        """Deliver one record under its idempotency key, or raise `PlatformFailed`."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


Record = Mapping[str, Any] | Sequence[Mapping[str, Any]]
"""One record, or several sent together (a 两库 summary's counts)."""


def _written(mapping: PlatformMapping, kind: str, record: Record) -> tuple[bytes, str]:
    try:
        if not isinstance(record, Mapping):
            return encode_rows(
                mapping, [render(mapping, kind, r, date_fields=DATE_FIELDS) for r in record]
            )
        return encode(mapping, render(mapping, kind, record, date_fields=DATE_FIELDS))
    except RenderError as exc:
        raise PlatformFailed(str(exc), permanent=True) from exc
    except UnicodeEncodeError as exc:
        raise PlatformFailed(
            f"{mapping.platform}: not {mapping.encoding}: {exc}", permanent=True
        ) from exc


class HttpAdapter:
    """POSTs records to a platform: one keep-alive pool per URL (a record kind's `path`)."""

    def __init__(
        self,
        mapping: PlatformMapping,
        *,
        url: str,
        headers: Mapping[str, str],
        ssl_context: ssl.SSLContext | None,
        connections: int,
        timeout_s: float,
    ) -> None:
        self.mapping = mapping
        self.url = url
        self.headers = dict(headers)
        self.ssl_context = ssl_context
        self.connections = connections
        self.timeout_s = timeout_s
        self._posters: dict[str, HttpPoster] = {}

    def _poster(self, kind: str) -> HttpPoster:
        path = self.mapping.records[kind].path or ""
        url = self.url.rstrip("/") + "/" + path.lstrip("/") if path else self.url
        if url not in self._posters:
            self._posters[url] = HttpPoster(
                url,
                connections=self.connections,
                timeout_s=self.timeout_s,
                ssl_context=self.ssl_context,
            )
        return self._posters[url]

    async def send(self, *, kind: str, record: Record, key: str) -> None:
        """POST one record; a 2xx reply is its delivery."""
        body, content_type = _written(self.mapping, kind, record)
        headers = {"Idempotency-Key": key, "Content-Type": content_type, **self.headers}
        try:
            reply = await self._poster(kind).post(body, headers)
        except HttpError as exc:
            raise PlatformFailed(f"{self.mapping.platform}: {exc}") from exc
        if reply.status >= 300:
            raise PlatformFailed(
                f"{self.mapping.platform} answered HTTP {reply.status}: "
                f"{reply.body[:200].decode('utf-8', 'replace')}",
                permanent=http_failure_is_permanent(reply.status),
            )

    async def aclose(self) -> None:
        """Close every pool."""
        for poster in self._posters.values():
            await poster.aclose()


class FileDropAdapter:
    """Writes one file per record into the platform's folder (its kind's `path` below it)."""

    def __init__(self, mapping: PlatformMapping, *, folder: Path) -> None:
        self.mapping = mapping
        self.folder = folder

    async def send(self, *, kind: str, record: Record, key: str) -> None:
        """Write the record's file atomically; the same key always names the same file."""
        body, _ = _written(self.mapping, kind, record)
        transport = self.mapping.transport
        ext = "csv" if transport is not None and transport.file_format == "csv" else "json"
        folder = self.folder / (self.mapping.records[kind].path or "")
        # A key is ASCII without spaces; `:` is kept out of file names for shared folders.
        name = key.replace(":", "_") + "." + ext
        try:
            await asyncio.to_thread(_write_atomically, folder, name, body)
        except OSError as exc:
            raise PlatformFailed(f"{self.mapping.platform}: cannot write {folder}: {exc}") from exc

    async def aclose(self) -> None:
        """Nothing to release."""


def _write_atomically(folder: Path, name: str, body: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{name}.part"
    with open(part, "wb") as out:
        out.write(body)
        out.flush()
        os.fsync(out.fileno())
    os.replace(part, folder / name)


@dataclass
class Platforms:
    """The configured platforms: their checked mappings and their adapters, by id."""

    loaded: dict[str, LoadedMapping] = field(default_factory=dict)
    adapters: dict[str, Adapter] = field(default_factory=dict)
    inbound: dict[str, LoadedMapping] = field(default_factory=dict)
    """The inbound mappings the publisher reads (the 监督平台's receipts), by platform id."""
    root: Path | None = None
    """The mapping folder (relative paths in a mapping are read from it)."""

    def taking(self, kind: str) -> list[str]:
        """The ids of the outbound platforms that take records of this kind, sorted."""
        return sorted(pid for pid, m in self.loaded.items() if kind in m.mapping.records)

    def routes(self) -> dict[str, list[str]]:
        """Record kind → the platforms taking it (tasks, plans and 两库 summaries, for the
        copies)."""
        return {kind: self.taking(kind) for kind in ("task", "plan", SUMMARY_KIND)}

    def disclosing(self) -> list[str]:
        """The platforms taking results that make them public (`discloses: true`): a result
        is published against its deadline once delivered to each of them too."""
        return sorted(p for p in self.taking("result") if self.loaded[p].mapping.discloses)

    def in_force(self) -> dict[str, dict[str, str]]:
        """Each platform's file and its SHA-256, as the audit records them (an inbound file
        under `<id> inbound`)."""
        out = {p: {"file": m.file, "sha256": m.sha256} for p, m in sorted(self.loaded.items())}
        for p, m in sorted(self.inbound.items()):
            out[f"{p} inbound"] = {"file": m.file, "sha256": m.sha256}
        return out

    async def aclose(self) -> None:
        """Close every adapter."""
        for adapter in self.adapters.values():
            await adapter.aclose()


def load_platforms(
    directory: str | Path,
    *,
    categories: CategoryTable,
    env: Mapping[str, str] | None = None,
    connections: int = 16,
    timeout_s: float = 10.0,
) -> Platforms:
    """Check the folder's mappings and build their adapters; `Invalid` names what is wrong."""
    root = Path(directory)
    try:
        files = read_mapping_dir(root)
    except (OSError, ValueError) as exc:
        raise Invalid(f"platform mappings: {exc}", code="mapping_invalid") from exc
    loaded = load_mappings(files, vocabulary(categories), direction="outbound")
    # The receipts coming back (the other services' inbound files are theirs to check).
    inbound = load_mappings(files, RECEIPT_VOCABULARY, direction="inbound")
    environ = os.environ if env is None else env
    adapters: dict[str, Adapter] = {
        pid: _adapter(m, root, environ, connections, timeout_s) for pid, m in loaded.items()
    }
    return Platforms(loaded=loaded, adapters=adapters, inbound=inbound, root=root)


def _adapter(
    m: LoadedMapping, root: Path, env: Mapping[str, str], connections: int, timeout_s: float
) -> Adapter:
    mapping, t, a = m.mapping, m.mapping.transport, m.mapping.auth
    assert t is not None  # an outbound mapping has a transport (checked)

    def need(var: str) -> str:
        value = env.get(var, "").strip()
        if not value:
            raise Invalid(f"{m.file}: {var} is not set (platform {mapping.platform})")
        return value

    if t.kind == "file-drop":
        assert t.folder is not None
        return FileDropAdapter(mapping, folder=root / t.folder)
    url = t.url if t.url is not None else need(t.url_env or "")
    if not url.startswith(("http://", "https://")):  # the file's own url is checked already
        raise Invalid(f"{m.file}: {t.url_env} is not an http(s) URL: {url}")
    headers: dict[str, str] = {}
    if a.kind == "bearer":
        if a.token_env is not None:
            token = need(a.token_env)
        else:
            try:
                token = (root / (a.token_file or "")).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise Invalid(f"{m.file}: cannot read the token file: {exc}") from exc
        headers[a.header] = f"{a.scheme} {token}" if a.scheme else token
    context = None
    if a.kind == "client-cert":
        try:
            context = ssl.create_default_context(
                cafile=str(root / a.ca_file) if a.ca_file else None
            )
            context.load_cert_chain(
                root / (a.cert_file or ""), root / a.key_file if a.key_file else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise Invalid(f"{m.file}: cannot load the client certificate: {exc}") from exc
    return HttpAdapter(
        mapping,
        url=url,
        headers=headers,
        ssl_context=context,
        connections=connections,
        timeout_s=timeout_s,
    )


def configured_platforms(settings: PublisherSettings, categories: CategoryTable) -> Platforms:
    """The platforms of `platforms_dir` (none when it is not set)."""
    if not settings.platforms_dir:
        return Platforms()
    return load_platforms(
        settings.platforms_dir,
        categories=categories,
        connections=settings.platform_window,
        timeout_s=settings.http_timeout_s,
    )

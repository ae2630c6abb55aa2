"""The shape of a platform mapping file: what spotcheck exchanges with one outside platform.

A mapping file says, for one platform, which records go there (or come from there), each field
under the platform's own name and where its value comes from, the code lists that translate
spotcheck's codes into the platform's, the date format, the text encoding, the transport and
the authentication. The models only describe the shape (unknown keys refused); what a field or
code may be is checked against a `Vocabulary` in `check.py`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Encoding = Literal["utf-8", "gb18030"]
TransportKind = Literal["http-json", "http-form", "file-drop"]
FileFormat = Literal["json", "csv"]
AuthKind = Literal["none", "bearer", "client-cert"]
Direction = Literal["outbound", "inbound"]


class _Strict(BaseModel):
    # A misspelt key must be an error, never a silently ignored setting; numbers written
    # without quotes (a code `1`) are text.
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, coerce_numbers_to_str=True
    )


class FieldMap(_Strict):
    """One field of a platform record: its name there and where its value comes from."""

    name: str = Field(min_length=1)
    """The platform's field name, exactly as its interface document spells it."""
    from_: str | None = Field(default=None, alias="from")
    """Spotcheck's field (the vocabulary of the record kind)."""
    value: str | None = None
    """A constant instead of `from` (a data source name, a fixed flag)."""
    codes: str | None = None
    """A code list of `codes:` translating spotcheck's value into the platform's."""
    date: str | None = None
    """The date format of this field (strftime), instead of the file's `dates`."""
    join: str = "，"
    """How a list value (several departments) is joined into one text."""
    required: bool = False
    """A record without a value here is refused (a dead letter naming the field)."""


class RecordMap(_Strict):
    """One kind of record (a result, a task, a plan) and its fields, in the platform's order."""

    fields: list[FieldMap] = Field(min_length=1)
    path: str | None = None
    """Appended to the transport's URL (HTTP) or folder (file drop) for this kind."""


class Transport(_Strict):
    """How records travel: an HTTP POST (JSON or form) or a file dropped into a folder."""

    kind: TransportKind
    url: str | None = None
    url_env: str | None = None
    """The environment variable holding the URL (a province's endpoint need not be in git)."""
    folder: str | None = None
    file_format: FileFormat = "json"
    wrap: str | None = None
    """JSON only: the record is sent as `{wrap: record}` (interfaces that want `{"data": …}`)."""


class Auth(_Strict):
    """How spotcheck proves who it is: a bearer token or a client certificate."""

    kind: AuthKind = "none"
    token_env: str | None = None
    token_file: str | None = None
    header: str = "Authorization"
    scheme: str = "Bearer"
    cert_file: str | None = None
    key_file: str | None = None
    ca_file: str | None = None


class PlatformMapping(_Strict):
    """One mapping file, checked."""

    platform: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    """The platform's id: its deliveries' destination is `platform:<id>`."""
    name: str = Field(min_length=1)
    direction: Direction = "outbound"
    discloses: bool = False
    """Outbound only: this platform makes results public (公示系统, 执法服务网), so a result
    counts as published against its 20-working-day deadline only once delivered here too."""
    encoding: Encoding = "utf-8"
    dates: str = "%Y-%m-%d"
    transport: Transport | None = None
    auth: Auth = Auth()
    codes: dict[str, dict[str, str]] = Field(default_factory=dict)
    records: dict[str, RecordMap] = Field(min_length=1)

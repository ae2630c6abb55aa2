"""Registry contracts: the two directories, statistics, frozen candidate lists, risk classes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from contracts.base import Contract

# Ascii-only ids so that they are safe in file names, URLs and the ticket input (DESIGN §6).
STRATUM_ID_PATTERN = r"^[A-Za-z0-9._:-]+$"

# Registration statuses of an entity that is operating (存续 and its synonym 在业): only these
# are drawn by default; 吊销, 注销, 迁出 … are not.
ACTIVE_STATUSES = ("存续", "在业")


class EntityRecord(Contract):
    """A market entity (检查对象) as the registry holds it."""

    uscc: str = Field(min_length=18, max_length=18)
    name: str
    entity_type: str
    region_code: str = Field(pattern=r"^\d{6}$")
    industry_code: str
    status: str = "存续"
    abnormal: bool = False
    risk_class: str | None = None
    risk_class_date: date | None = None
    tags: list[str] = []
    key_supervision: list[str] = []
    address: str = ""
    established: date | None = None


class Recusal(Contract):
    """A declaration that keeps an inspector off one entity (回避声明), and why: `declared`
    (no reason given), `relative` (a close relative works there or holds shares),
    `former_employee`, `interest` (own shares or other economic interest), `other`."""

    uscc: str
    relation: Literal["declared", "relative", "former_employee", "interest", "other"] = "declared"


class InspectorRecord(Contract):
    """An enforcement inspector (执法检查人员). `recusal_usccs` lists every entity the inspector
    is kept off; `recusals` the same entities with the relation declared for each."""

    inspector_id: str
    name: str
    department: str
    region_codes: list[str]
    certificate_no: str
    certificate_expiry: date
    expertise: list[str] = []
    status: Literal["active", "on_leave", "retired"] = "active"
    capacity: int = Field(default=50, ge=0)
    recusal_usccs: list[str] = []
    recusals: list[Recusal] = []


class EntityFilter(Contract):
    """Which entities belong to a stratum. Empty lists mean "no restriction".

    Key supervision keeps an entity out of its own items only: a stratum names the labels of
    its items' key-supervision lists in `exclude_key_supervision_labels`, and an entity
    carrying one of them leaves it; an entity with other labels (or none) stays.
    `exclude_key_supervision` leaves out an entity with any label at all. It used to default to
    true, which took key-supervision entities out of every random draw; the default is false.
    Producers write the field out, so a plan approved under the old default still says `true`
    and freezes as it was approved; a new plan sets it only for an item whose rule file says
    `key_supervision: true` without naming its labels.
    """

    region_prefixes: list[str] = []
    industry_prefixes: list[str] = []
    entity_types: list[str] = []
    risk_classes: list[str] = []
    tags_any: list[str] = []
    statuses: list[str] = list(ACTIVE_STATUSES)
    exclude_abnormal: bool = False
    exclude_key_supervision: bool = False
    exclude_key_supervision_labels: list[str] = []


class StratumSpec(Contract):
    """One stratum to freeze: its id, its filter and the USCCs to leave out."""

    stratum_id: str = Field(pattern=STRATUM_ID_PATTERN)
    filter: EntityFilter
    exclude_usccs: list[str] = []
    # Large exclusion lists (a province's frequency window) do not fit in one NATS message:
    # name an object in SNAPSHOTS_BUCKET holding USCCs, one per line, to leave out as well.
    exclude_object: str | None = None


class FreezeRequest(Contract):
    """`spotcheck.v1.registry.rpc.freeze`: freeze candidate lists for these strata.

    `request_id` makes the call idempotent: the same id returns the same snapshot.
    """

    request_id: str
    strata: list[StratumSpec]
    as_of: datetime | None = None


class FrozenStratum(Contract):
    """A frozen candidate list: n USCCs sorted by UTF-8 bytes, and their SHA-256 (DESIGN §6)."""

    stratum_id: str
    n: int
    candidates_sha256: str
    object_name: str


class FreezeReply(Contract):
    """The snapshot: immutable, public; lists in object store bucket `SNAPSHOTS_BUCKET`."""

    snapshot_id: str
    as_of: datetime
    strata: list[FrozenStratum]


StatsField = Literal["region", "industry", "risk_class", "entity_type", "tag", "status"]


class StatsRequest(Contract):
    """`spotcheck.v1.registry.rpc.stats`: counts of entities grouped by some fields."""

    group_by: list[StatsField] = []
    filter: EntityFilter = EntityFilter()
    industry_prefix_len: int = 3


class StatsGroup(Contract):
    """One group of a statistics reply."""

    key: dict[str, str]
    count: int


class StatsReply(Contract):
    """Counts per group plus the total."""

    total: int
    groups: list[StatsGroup]


class EntitiesRequest(Contract):
    """`spotcheck.v1.registry.rpc.entities`: look entities up by USCC (at most 1,000)."""

    usccs: list[str] = Field(max_length=1000)
    as_of: datetime | None = None


class EntitiesReply(Contract):
    """The entities found; unknown USCCs are listed in `missing`."""

    entities: list[EntityRecord]
    missing: list[str] = []


class InspectorsRequest(Contract):
    """`spotcheck.v1.registry.rpc.inspectors`: a page of the roster."""

    departments: list[str] = []
    offset: int = 0
    limit: int = Field(default=500, le=1000)


class InspectorsReply(Contract):
    """A page of inspectors; `next_offset` is null on the last page."""

    inspectors: list[InspectorRecord]
    next_offset: int | None = None


class RiskClassUpdated(Contract):
    """`credit.v1.risk_class.updated`: the credit-risk system reclassified one entity."""

    uscc: str
    risk_class: str
    effective_date: date


class RiskClassFullPush(Contract):
    """`credit.v1.risk_class.full`: one chunk of a full push (全量推送).

    The registry applies a push atomically once all `total_chunks` chunks have arrived.
    """

    push_id: str
    chunk: int = Field(ge=0)
    total_chunks: int = Field(ge=1)
    effective_date: date
    items: list[RiskClassUpdated]


class ImportCompleted(Contract):
    """`spotcheck.v1.registry.import.completed`: a bulk import finished."""

    import_id: str
    kind: Literal["entities", "inspectors"]
    source: str
    accepted: int
    rejected: int
    finished_at: datetime


class EntityVersion(Contract):
    """One version of an entity and when it was true: [valid_from, valid_to), null = now."""

    entity: EntityRecord
    valid_from: datetime
    valid_to: datetime | None = None


class EntityDetail(Contract):
    """`GET /entities/{uscc}`: the entity (as at `as_of` when given) and all its versions."""

    entity: EntityRecord
    as_of: datetime | None = None
    history: list[EntityVersion]


class EntityPage(Contract):
    """`GET /entities`: a page of a search in USCC order; `next_after` continues it."""

    entities: list[EntityRecord]
    next_after: str | None = None


class RowProblem(Contract):
    """One field of one rejected row: which and why, in Chinese and English."""

    field: str
    reason_zh: str
    reason_en: str


class RejectedRow(Contract):
    """A row of an import that was not applied (a line of the rejects file)."""

    line: int
    errors: list[RowProblem]
    raw: dict[str, Any] | str | None = None


class ImportStarted(Contract):
    """`POST /imports`: an import was opened; send chunks, then commit."""

    import_id: str
    kind: Literal["entities", "inspectors"]


class ImportChunkReply(Contract):
    """`POST /imports/{id}/chunks/{n}`: rows of this chunk staged and rejected."""

    accepted: int
    rejected: int
    rejects: list[RejectedRow]


class ImportCommitReply(Contract):
    """`POST /imports/{id}/commit`: the import was applied in one transaction.

    `accepted` rows were valid and unique; `rejected` counts invalid rows of all chunks plus
    every row of a key that occurs more than once (listed in `rejects`, none applied).
    """

    import_id: str
    kind: Literal["entities", "inspectors"]
    accepted: int
    rejected: int
    duplicates: int
    changed: int
    rejects: list[RejectedRow]


class RiskClassesConfig(Contract):
    """`GET /config/risk-classes`: the risk classes this registry accepts (configuration)."""

    risk_classes: list[str]


class DirectoryCount(Contract):
    """One count of a 两库 summary: how many entities (or inspectors) have this code."""

    directory: Literal["entities", "inspectors"]
    dimension: Literal[
        "region", "entity_type", "industry", "risk_class", "department", "qualification"
    ]
    """entities: `region` (GB/T 2260), `entity_type`, `industry` (GB/T 4754 code), `risk_class`
    (`""` unclassified); inspectors: `department`, `qualification` (`valid`: the enforcement
    certificate not expired on `day`, else `expired`)."""
    code: str
    count: int = Field(ge=0)


class DirectorySummary(Contract):
    """`spotcheck.v1.registry.directory.summary`: the 两库 counts for the 监督平台, at most one
    a day and only when they changed (after an import, or on the daily look).

    Id `directory.summary:<day>`. The publisher sends it to the platforms whose mapping takes
    `directory_summary` records."""

    day: date
    """China's day the summary is of."""
    computed_at: datetime
    entities: int = Field(ge=0)
    inspectors: int = Field(ge=0)
    counts: list[DirectoryCount]
    sha256: str
    """SHA-256 of the counts (the same counts → the same digest: nothing to send)."""

"""All SQL of the registry, by topic; every function returns typed rows (contract models or
frozen dataclasses), never an `asyncpg.Record`.

- `entities`: the entity directory with its valid-time history, search and stats
- `inspectors`: the inspector directory
- `risk`: risk classes from the credit system (one reclassification, full pushes)
- `imports`: import runs, their chunks, duplicates and the apply of a commit
- `staging`: staging tables (typed, and raw CSV chunk tables loaded by `COPY`)
- `bulk`: the first load of an empty directory (a table built beside it, put in place)
- `snapshots`: frozen snapshots, their blocks, and the freeze query's tables
- `filters`: entity filters as SQL (WHERE clauses, strata rows, branches)
"""

from __future__ import annotations

from typing import Any

# A connection or a pooled connection proxy (asyncpg types them apart; both work here).
Conn = Any

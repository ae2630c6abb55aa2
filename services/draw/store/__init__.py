"""All SQL of the draw service (asyncpg), one module per aggregate; rows come back as domain
objects or the frozen dataclasses of `rows.py`, never as asyncpg records.

- `draws.py`: approved plans, draws and their ceremony facts, commit-reveal parties;
- `strata.py`: committed strata and their frozen candidate lists, the ratio drawn per risk
  class;
- `tasks.py`: tasks, team members, progress and what earlier tasks say about a new draw;
- `triggered.py`: triggered tasks (触发检查), their openings and approvals.
"""

from services.draw.store.draws import (
    active_draw_of_plan,
    add_party,
    draw_extra,
    get_draw,
    get_plan,
    insert_draw,
    list_draws,
    parties,
    public_parties,
    reveal_party,
    save_plan,
    seeded_draws,
    update_draw,
)
from services.draw.store.rows import (
    Conn,
    DrawExtra,
    DrawListRow,
    StoredTask,
    StratumRow,
    TaskRow,
)
from services.draw.store.strata import (
    candidate_list,
    drawn_by_risk_class,
    insert_stratum,
    live_draws,
    set_selection,
    strata,
    strata_of_uscc,
)
from services.draw.store.tasks import (
    dumps,
    excluded_usccs,
    insert_tasks,
    last_inspectors,
    loads,
    mark_merged,
    open_tasks,
    set_progress,
    supersede_tasks,
    task_bodies,
    task_counts,
    task_progress,
    tasks,
    work_done,
)
from services.draw.store.triggered import (
    TriggeredRow,
    approve_opening,
    get_opening,
    insert_opening,
    insert_triggered_task,
    list_openings,
)

__all__ = [
    "Conn",
    "DrawExtra",
    "DrawListRow",
    "StoredTask",
    "StratumRow",
    "TaskRow",
    "TriggeredRow",
    "active_draw_of_plan",
    "add_party",
    "approve_opening",
    "candidate_list",
    "draw_extra",
    "drawn_by_risk_class",
    "dumps",
    "excluded_usccs",
    "get_draw",
    "get_opening",
    "get_plan",
    "insert_draw",
    "insert_opening",
    "insert_stratum",
    "insert_tasks",
    "insert_triggered_task",
    "last_inspectors",
    "list_draws",
    "list_openings",
    "live_draws",
    "loads",
    "mark_merged",
    "open_tasks",
    "parties",
    "public_parties",
    "reveal_party",
    "save_plan",
    "seeded_draws",
    "set_progress",
    "set_selection",
    "strata",
    "strata_of_uscc",
    "supersede_tasks",
    "task_bodies",
    "task_counts",
    "task_progress",
    "tasks",
    "update_draw",
    "work_done",
]

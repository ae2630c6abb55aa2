"""ALL SQL of the publisher (asyncpg), returning typed rows: no `asyncpg.Record` leaves here.

- `tasks`    our copies of tasks, approved plans and draws (written by the NATS handlers)
- `cards`    the task list of the phone (掌上查): cards with status, a task's result versions
- `drafts`   results awaiting the team's confirmations, and the phone's idempotency keys
- `results`  result versions with their deliveries, their deadlines
- `outbox`   the delivery outbox: the relay's claims and outcomes, operators' views
- `calendar` the stored holiday calendar and its lock
- `public`   the public notices (公示) and open data, read only
- `public_site` the public site's pages (一公开): paged, filtered, counted; a company's history
- `stats`    the leaders' statistics: a year's tasks and results counted in SQL
- `follow_up` referrals' acknowledgements and outcomes, re-checks of orders to correct

Callers write `from services.publisher import store` and `store.<function>`.
"""

from services.publisher.store.calendar import (
    StoredCalendar,
    lock_calendar,
    read_calendar,
    save_calendar,
)
from services.publisher.store.cards import task_card, task_cards, task_results
from services.publisher.store.commissions import (
    get_commission,
    insert_commission,
    record_report,
    task_commissions,
)
from services.publisher.store.conn import Conn
from services.publisher.store.drafts import (
    SubmissionKey,
    accepted_reply,
    awaiting_drafts,
    claim_key,
    close_draft,
    get_draft,
    get_key,
    get_keys,
    insert_draft,
    replace_awaiting,
    set_confirmations,
    set_draft_result,
    set_key_outcome,
)
from services.publisher.store.follow_up import (
    LatestOrder,
    ReferralTarget,
    get_rectification_check,
    get_referral,
    insert_rectification_check,
    latest_order,
    rectifications,
    referral_target,
    save_referral,
    task_referrals,
)
from services.publisher.store.outbox import (
    OUTBOX_CHANNEL,
    DueDelivery,
    claim_due,
    get_delivery,
    list_deliveries,
    notify_outbox,
    outbox_counts,
    queue_platform_rows,
    record_outcomes,
    set_pending,
    settle_disclosures,
)
from services.publisher.store.public import (
    draw_notices,
    item_notices,
    plan_notices,
    result_notices,
    task_notices,
)
from services.publisher.store.public_site import (
    company_history,
    company_page,
    overview,
    plan_page,
    result_page,
    task_page,
)
from services.publisher.store.results import (
    NewResult,
    UnpublishedResult,
    deadlines_touching,
    insert_results,
    result_versions,
    unpublished,
    update_deadlines,
)
from services.publisher.store.stats import StatsFilter, task_stats
from services.publisher.store.tasks import (
    cancellation,
    get_task,
    get_tasks,
    latest_versions,
    mark_cancelled,
    mark_draw_superseded,
    mark_started,
    tasks_and_latest,
    upsert_draw_completed,
    upsert_plan,
    upsert_task,
)

__all__ = [
    "OUTBOX_CHANNEL",
    "Conn",
    "DueDelivery",
    "LatestOrder",
    "NewResult",
    "ReferralTarget",
    "StatsFilter",
    "StoredCalendar",
    "SubmissionKey",
    "UnpublishedResult",
    "accepted_reply",
    "awaiting_drafts",
    "cancellation",
    "claim_due",
    "claim_key",
    "close_draft",
    "company_history",
    "company_page",
    "deadlines_touching",
    "draw_notices",
    "get_commission",
    "get_delivery",
    "get_draft",
    "get_key",
    "get_keys",
    "get_rectification_check",
    "get_referral",
    "get_task",
    "get_tasks",
    "insert_commission",
    "insert_draft",
    "insert_rectification_check",
    "insert_results",
    "item_notices",
    "latest_order",
    "latest_versions",
    "list_deliveries",
    "lock_calendar",
    "mark_cancelled",
    "mark_draw_superseded",
    "mark_started",
    "notify_outbox",
    "outbox_counts",
    "overview",
    "plan_notices",
    "plan_page",
    "queue_platform_rows",
    "read_calendar",
    "record_outcomes",
    "record_report",
    "rectifications",
    "referral_target",
    "replace_awaiting",
    "result_notices",
    "result_page",
    "result_versions",
    "save_calendar",
    "save_referral",
    "set_confirmations",
    "set_draft_result",
    "set_key_outcome",
    "set_pending",
    "settle_disclosures",
    "task_card",
    "task_cards",
    "task_commissions",
    "task_notices",
    "task_page",
    "task_referrals",
    "task_results",
    "task_stats",
    "tasks_and_latest",
    "unpublished",
    "update_deadlines",
    "upsert_draw_completed",
    "upsert_plan",
    "upsert_task",
]

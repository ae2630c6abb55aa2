"""Calling a task off before its visit (取消任务): who may, and when it is too late.

Staff of one of the task's departments cancel, with a reason (a note for `other`); a task
whose result is recorded, or waits for the team's confirmations, is past cancelling (its
result may be corrected instead); a merged or superseded task has nothing left to cancel.
Pure, in the one reason shape.
"""

from __future__ import annotations

from typing import Any

from contracts.publisher import CancelReason, TaskCancellation
from services.publisher.domain.result_parts import reason
from services.publisher.domain.validation import TaskView


def check_cancel(
    task_id: str,
    task: TaskView | None,
    cancellation: TaskCancellation,
    *,
    dept: str,
    recorded: bool,
    draft_waiting: bool,
) -> list[dict[str, Any]]:
    """Every reason this department may not cancel this task now (none: it may)."""
    if task is None:
        return [
            reason(["task_id"], f"task {task_id} does not exist", "task_unknown", "抽查任务不存在")
        ]
    reasons: list[dict[str, Any]] = []
    if dept not in task.departments:
        reasons.append(
            reason(
                ["task_id"],
                f"department {dept} is not on task {task_id}",
                "department_not_on_task",
                "您的部门不是该任务的检查部门",
            )
        )
    if task.merged_into is not None:
        reasons.append(
            reason(
                ["task_id"],
                f"task {task_id} was merged into {task.merged_into}: cancel that one",
                "task_merged",
                f"该任务已并入任务 {task.merged_into}，请取消该任务",
            )
        )
    elif task.draw_superseded_by is not None:
        reasons.append(
            reason(
                ["task_id"],
                f"the draw of task {task_id} was superseded by {task.draw_superseded_by}",
                "draw_superseded",
                "该任务所在的抽取已被重新抽取取代，无需取消",
            )
        )
    elif recorded or draft_waiting:
        reasons.append(
            reason(
                ["task_id"],
                f"task {task_id} has a result"
                + ("" if recorded else " awaiting the team's confirmations")
                + ": correct it instead",
                "task_has_result",
                "该任务已录入检查结果，不能取消（可更正结果）",
            )
        )
    if cancellation.reason is CancelReason.OTHER and not cancellation.note.strip():
        reasons.append(
            reason(
                ["note"],
                "a cancellation for another reason says what it is (note)",
                "cancel_note_missing",
                "请说明取消的原因",
            )
        )
    return reasons

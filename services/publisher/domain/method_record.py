"""What each check method requires of a result (检查方式记录), checked before anything is kept.

The notice names four ways to check; each leaves its own trace, and a result without it could
not be defended later: an on-site check its place (the date is the check date), a documents
check the documents read, an online check what was watched and a capture of it, a commissioned
test the outside body's report. Pure, in the one reason shape (`reason(...)`), so that the phone
shows each next to its field.
"""

from __future__ import annotations

from typing import Any

from contracts.publisher import AttachmentKind, ResultSubmission
from contracts.rules import Method
from services.publisher.domain.result_parts import reason


def _has(sub: ResultSubmission, kind: AttachmentKind) -> bool:
    return any(a.kind is kind for a in sub.attachments)


def check_method_record(
    sub: ResultSubmission, method: Method | None, *, reports_on_file: bool = False
) -> list[dict[str, Any]]:
    """Every trace the result's method requires and the submission lacks; none for an unknown
    method (refused on its own). `reports_on_file`: the task's commissions returned their
    reports, which stand for the commissioned check's own."""
    record = sub.method_record
    reasons: list[dict[str, Any]] = []
    if method is Method.ON_SITE and not record.place.strip():
        reasons.append(
            reason(
                ["method_record", "place"],
                "an on-site check needs its place (method_record.place)",
                "method_place_missing",
                "实地核查须填写检查地点",
            )
        )
    elif method is Method.DOCUMENTS and not any(d.strip() for d in record.documents):
        reasons.append(
            reason(
                ["method_record", "documents"],
                "a documents check needs the documents examined (method_record.documents)",
                "method_documents_missing",
                "书面检查须列明所查阅的材料",
            )
        )
    elif method is Method.ONLINE:
        if not (record.url.strip() or record.platform.strip()):
            reasons.append(
                reason(
                    ["method_record", "url"],
                    "an online check needs the URL or the platform monitored "
                    "(method_record.url or method_record.platform)",
                    "method_url_missing",
                    "网络监测须填写所监测的网址或平台",
                )
            )
        if not _has(sub, AttachmentKind.CAPTURE):
            reasons.append(
                reason(
                    ["attachments"],
                    "an online check needs a capture: an attachment of kind 'capture'",
                    "method_capture_missing",
                    "网络监测须附监测截图或页面存档",
                )
            )
    elif (
        method is Method.COMMISSIONED
        and not reports_on_file
        and not _has(sub, AttachmentKind.REPORT)
    ):
        reasons.append(
            reason(
                ["attachments"],
                "a commissioned check needs the report: an attachment of kind 'report'",
                "method_report_missing",
                "委托检验检测须附检验检测报告",
            )
        )
    url = record.url.strip()
    if url and not url.lower().startswith(("http://", "https://")):
        reasons.append(
            reason(
                ["method_record", "url"],
                f"the URL {url[:80]!r} does not start with http:// or https://",
                "method_url_invalid",
                "网址须以 http:// 或 https:// 开头",
            )
        )
    return reasons

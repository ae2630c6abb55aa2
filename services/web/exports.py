"""Tables as files: CSV (UTF-8 with a byte-order mark, so that Excel on a Chinese Windows reads
it as UTF-8) and XLSX (openpyxl), with Chinese headers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """The table as CSV, headers first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(title: str, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """The table as one sheet of a workbook: bold headers, frozen under them, every cell text
    (a USCC or a task id must never become a number)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(h) * 2 + 2 for h in headers]
    for row in rows:
        sheet.append([str(v) for v in row])
        for i, value in enumerate(row):
            widths[i] = min(max(widths[i], len(str(value)) + 2), 60)
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
        for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
            cell.number_format = "@"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

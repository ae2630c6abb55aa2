"""Pages from Jinja2 templates (autoescaped), with the filters that write Chinese dates and
numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from contracts.triggered import TRIGGER_LABELS
from services.web.domain import public, writing

TEMPLATES = Path(__file__).parent / "templates"


class Pages:
    """Renders templates into responses; one environment for the service."""

    def __init__(self, *, templates: Path = TEMPLATES) -> None:
        self.env = Environment(
            loader=FileSystemLoader(templates),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            day=writing.day,
            moment=writing.moment,
            number=writing.number,
            task_status=lambda s: writing.TASK_STATUS.get(s, s),
            method=lambda m: writing.METHODS.get(m, m),
            trigger=lambda t: TRIGGER_LABELS.get(t, t),
            # The public site: text from the directories without control or direction marks,
            # ratios in basis points as percentages.
            clean=public.display_text,
            ratio=public.ratio,
            year_choices=lambda years: [(y, f"{y}年") for y in years],
        )

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """One page; `request` is in every template's context."""
        html = self.env.get_template(template).render({"request": request, **context})
        response = HTMLResponse(html, status_code=status_code, headers=headers)
        # Pages show one person's tasks: never cached by the browser or a proxy.
        response.headers.setdefault("Cache-Control", "no-store")
        return response

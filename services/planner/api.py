"""HTTP API of the planner service (thin: parse, authorise, call the domain, answer)."""

from __future__ import annotations

from fastapi import APIRouter

from services.kit.service import ServiceContext


def router(ctx: ServiceContext) -> APIRouter:
    """The planner service's routes."""
    return APIRouter(tags=["planner"])

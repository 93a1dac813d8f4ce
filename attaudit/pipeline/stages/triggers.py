"""Stage triggers: not wired yet in this build (its library has not landed)."""

from __future__ import annotations

from attaudit.pipeline.context import StageContext

REQUIRES = ["attaudit.pipeline.stages._missing:triggers_library"]


def run(ctx: StageContext) -> dict:
    raise NotImplementedError("stage triggers is not wired in this build")

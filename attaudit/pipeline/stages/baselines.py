"""Stage baselines: not wired yet in this build (its library has not landed)."""

from __future__ import annotations

from attaudit.pipeline.context import StageContext

REQUIRES = ["attaudit.pipeline.stages._missing:baselines_library"]


def run(ctx: StageContext) -> dict:
    raise NotImplementedError("stage baselines is not wired in this build")

"""Stage explainers: not wired yet in this build (its library has not landed)."""

from __future__ import annotations

from attaudit.pipeline.context import StageContext

REQUIRES = ["attaudit.pipeline.stages._missing:explainers_library"]


def run(ctx: StageContext) -> dict:
    raise NotImplementedError("stage explainers is not wired in this build")

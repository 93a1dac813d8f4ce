"""TextAttack recipe: attribution-mined trigger insertion, untargeted.

Hao et al., "Self-Attention Attribution", AAAI 2021, section 4.4
(https://arxiv.org/abs/2004.11207): patterns mined from attention attribution, inserted into
inputs, act as adversarial triggers. Goal: ``UntargetedClassification``; transformation:
``TriggerInsertion``; search: the mined triggers in rank order; constraints: only
``RepeatModification`` (the trigger words are the whole perturbation; unlike the paper, no
semantic constraint is claimed).
"""

from __future__ import annotations

from collections.abc import Sequence

from attacks.textattack_offline import import_textattack
from attacks.trigger_file import Trigger, load_triggers
from attacks.trigger_transformation import TriggerInsertion, TriggerRankSearch

import_textattack()
from textattack import Attack  # noqa: E402
from textattack.attack_recipes import AttackRecipe  # noqa: E402
from textattack.constraints.pre_transformation import RepeatModification  # noqa: E402
from textattack.goal_functions import UntargetedClassification  # noqa: E402


class AttAttrTriggerRecipe(AttackRecipe):
    """Insert mined triggers (best first) until the prediction changes."""

    @staticmethod
    def build(model_wrapper, triggers: Sequence[Trigger] | str | None = None, *,
              top_k: int | None = None, position: str | None = None, seed: int = 0,
              query_budget: int | None = None) -> Attack:
        """``triggers``: a list of ``Trigger`` or a path to a trigger JSON file."""
        if triggers is None:
            raise ValueError("AttAttrTriggerRecipe.build needs triggers= (list or file path)")
        if isinstance(triggers, str):
            triggers = load_triggers(triggers).triggers
        chosen = list(triggers)[:top_k] if top_k else list(triggers)
        goal = UntargetedClassification(model_wrapper, query_budget=query_budget or float("inf"))
        transformation = TriggerInsertion(chosen, position=position, seed=seed)
        return Attack(goal, [RepeatModification()], transformation, TriggerRankSearch())

"""TextAttack ``Transformation`` that inserts mined triggers, and a rank-order search.

The transformation turns one input into one candidate per trigger (best first), using
``attacks.trigger_insertion`` so TextAttack sees the very same strings as the batched
evaluation (paper: Hao et al., AAAI 2021, section 4.4, https://arxiv.org/abs/2004.11207).
The search tries the candidates in rank order and stops at the first that reaches the goal.
"""

from __future__ import annotations

import difflib
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from attacks.textattack_offline import import_textattack
from attacks.trigger_file import Trigger, TriggerFileError
from attacks.trigger_insertion import insert_into_texts, trigger_rng

import_textattack()
from textattack.goal_function_results import GoalFunctionResultStatus  # noqa: E402
from textattack.search_methods import SearchMethod  # noqa: E402
from textattack.shared import AttackedText  # noqa: E402
from textattack.transformations import Transformation  # noqa: E402


def _with_insert_attrs(original: AttackedText, new: AttackedText) -> AttackedText:
    """Record which words of ``new`` were inserted (``modified_indices``, index map)."""
    matcher = difflib.SequenceMatcher(a=original.words, b=new.words, autojunk=False)
    index_map = np.full(original.num_words, -1)
    inserted: set[int] = set()
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            index_map[i1:i2] = np.arange(j1, j2)
        else:
            inserted.update(range(j1, j2))
    new.attack_attrs["original_index_map"] = index_map
    new.attack_attrs["modified_indices"] = set(inserted)
    new.attack_attrs["newly_modified_indices"] = set(inserted)
    new.attack_attrs["previous_attacked_text"] = original
    return new


class TriggerInsertion(Transformation):
    """One candidate per trigger: the trigger's words inserted into their own segments."""

    def __init__(self, triggers: Sequence[Trigger], *, position: str | None = None, seed: int = 0):
        if not triggers:
            raise TriggerFileError("TriggerInsertion needs at least one trigger")
        self.triggers = list(triggers)
        self.position = position
        self.seed = seed

    def _get_transformations(self, current_text, indices_to_modify):
        columns = list(current_text._text_input.items())
        if len(columns) > 2:
            raise ValueError("trigger insertion supports one or two text columns")
        text = columns[0][1]
        pair = columns[1][1] if len(columns) == 2 else None
        out = []
        for k, trig in enumerate(self.triggers):
            rng = trigger_rng(self.seed, k, text, pair)
            t, p = insert_into_texts(text, pair, trig, position=self.position, rng=rng)
            values = [t] if pair is None else [t, p]
            new = AttackedText(OrderedDict(zip((c for c, _ in columns), values, strict=True)))
            new.attack_attrs["trigger_rank"] = k
            out.append(_with_insert_attrs(current_text, new))
        return out

    @property
    def deterministic(self) -> bool:
        return self.position != "random" and all(t.position != "random" for t in self.triggers)

    def extra_repr_keys(self):
        return ["position", "seed"]


class TriggerRankSearch(SearchMethod):
    """Try the triggered candidates in rank order; stop at the first success.

    Candidates are scored in chunks of ``chunk_size`` (TextAttack batches the model queries);
    queries after the first success inside a chunk are still counted by TextAttack.
    Without success the candidate with the highest goal score is returned.
    """

    def __init__(self, chunk_size: int = 1):
        self.chunk_size = chunk_size

    def perform_search(self, initial_result):
        candidates = self.get_transformations(
            initial_result.attacked_text, original_text=initial_result.attacked_text
        )
        # Attack.filter_transformations sorts candidates by text: restore the rank order.
        candidates.sort(key=lambda t: t.attack_attrs["trigger_rank"])
        best = initial_result
        for start in range(0, len(candidates), self.chunk_size):
            results, search_over = self.get_goal_results(candidates[start : start + self.chunk_size])
            for result in results:
                if result.goal_status == GoalFunctionResultStatus.SUCCEEDED:
                    return result
                if result.score > best.score:
                    best = result
            if search_over:
                break
        return best

    @property
    def is_black_box(self) -> bool:
        return True

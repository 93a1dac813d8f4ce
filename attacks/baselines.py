"""TextAttack's own recipes as baselines, run through ``Attacker`` on the same examples.

Only recipes that run offline are registered: deepwordbug (Gao et al. 2018), pruthi
(Pruthi et al. 2019), input-reduction (Feng et al. 2018; its goal is to shrink the input while
keeping the prediction, so its "success" is not an accuracy drop) and pwws (Ren et al. 2019,
only when WordNet is available from Debian's wordnet packages, see
``attacks.textattack_offline``). Recipes that download embeddings or hub models (textfooler,
bae, bert-attack, ...) are not offered.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from attacks.textattack_offline import import_textattack, wordnet_ready
from attacks.trigger_file import TriggerFileError
from common import registries

BASELINES: dict[str, str] = {
    "deepwordbug": "DeepWordBugGao2018",
    "pruthi": "Pruthi2019",
    "input-reduction": "InputReductionFeng2018",
    "pwws": "PWWSRen2019",
}
registries.check_implemented("baseline", BASELINES)


@dataclass
class AttackerSummary:
    """Counts and costs of one ``Attacker`` run."""

    recipe: str
    num_examples: int
    succeeded: int
    failed: int
    skipped: int
    avg_queries: float
    seconds: float
    examples_per_second: float

    @property
    def success_rate(self) -> float:
        attacked = self.succeeded + self.failed
        return self.succeeded / attacked if attacked else 0.0

    @property
    def accuracy_under_attack(self) -> float:
        return self.failed / self.num_examples if self.num_examples else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "success_rate": self.success_rate,
                "accuracy_under_attack": self.accuracy_under_attack}


def available_baselines() -> list[str]:
    names = [n for n in BASELINES if n != "pwws"]
    return names + ["pwws"] if wordnet_ready() else names


def textattack_dataset(examples: Sequence[Any]):
    """A TextAttack ``Dataset`` of (text[, pair], label) rows."""
    ta = import_textattack()
    if any(ex.label is None for ex in examples):
        raise TriggerFileError("every attacked example needs a gold label")
    if any(ex.pair is not None for ex in examples):
        rows = [((ex.text, ex.pair), int(ex.label)) for ex in examples]
        return ta.datasets.Dataset(rows, input_columns=["text", "pair"])
    return ta.datasets.Dataset([(ex.text, int(ex.label)) for ex in examples])


def run_attacker(attack, examples: Sequence[Any], *, name: str,
                 query_budget: int | None = None) -> AttackerSummary:
    """Run ``attack`` with TextAttack's ``Attacker`` on ``examples``; summarise."""
    ta = import_textattack()
    from textattack.attack_results import (
        FailedAttackResult,
        SkippedAttackResult,
        SuccessfulAttackResult,
    )

    if query_budget is not None:
        attack.goal_function.query_budget = query_budget
    args = ta.AttackArgs(num_examples=len(examples), silent=True, disable_stdout=True,
                         query_budget=query_budget)
    t0 = time.perf_counter()
    results = ta.Attacker(attack, textattack_dataset(examples), args).attack_dataset()
    seconds = time.perf_counter() - t0
    attacked = [r for r in results if not isinstance(r, SkippedAttackResult)]
    queries = [r.num_queries for r in attacked]
    return AttackerSummary(
        recipe=name, num_examples=len(results),
        succeeded=sum(isinstance(r, SuccessfulAttackResult) for r in results),
        failed=sum(isinstance(r, FailedAttackResult) for r in results),
        skipped=sum(isinstance(r, SkippedAttackResult) for r in results),
        avg_queries=sum(queries) / len(queries) if queries else 0.0,
        seconds=seconds, examples_per_second=len(results) / seconds if seconds else 0.0,
    )


def run_baseline(name: str, model_wrapper, examples: Sequence[Any], *,
                 query_budget: int | None = None) -> AttackerSummary:
    """Build TextAttack's recipe ``name`` and run it on ``examples``."""
    if name not in BASELINES:
        raise TriggerFileError(f"unknown baseline {name!r}; valid: {', '.join(BASELINES)}")
    if name == "pwws" and not wordnet_ready():
        raise TriggerFileError("pwws needs WordNet: apt-get install wordnet-base wordnet-sense-index")
    import_textattack()
    import textattack.attack_recipes as recipes

    attack = getattr(recipes, BASELINES[name]).build(model_wrapper)
    return run_attacker(attack, examples, name=name, query_budget=query_budget)

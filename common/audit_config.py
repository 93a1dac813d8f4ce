"""Audit configuration: which stages run, with what budgets, on which data slices.

Pure pydantic (no torch), in ``common`` because every layer reads it: the service validates API
requests with it, the CLI builds it from flags, the pipeline runs it. Every named choice is
checked against ``common.registries`` (the one declaration of each name list). ``cache_key(stage)`` hashes only the fields a stage's result
depends on, so changing, say, the trigger budget does not invalidate the cached head analysis.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from common import registries

# Canonical order; a stage may read the cached results of the stages before it.
STAGE_NAMES: list[str] = list(registries.STAGES)

# Stages a default audit runs (a stage whose library is missing raises StageUnavailable).
DEFAULT_STAGES: list[str] = [s for s in STAGE_NAMES if s not in registries.OPT_IN_STAGES]

# Bump a stage's version when its result format or science changes: old caches stop matching.
STAGE_VERSIONS: dict[str, int] = {name: 1 for name in STAGE_NAMES} | {"triggers": 2, "baselines": 2}
STAGE_VERSIONS["attribution"] = 2  # bounded report: top-k heatmaps, no dense tensors in JSON

_SLICE_FIELDS = (
    "seed", "text_column", "pair_column", "label_column", "label_names",
    "mining_fraction", "importance_fraction", "allow_overlap", "max_rows",
    "truncation", "max_length",
)
_TRIGGER_EVIDENCE = ("trigger_threshold_mode", "judges", "reference_data", "reference_data_sha256",
                     "exclude_label_bearing", "label_bearing_listed")
# Fields each stage's result depends on (besides the model and dataset hashes and the slices).
STAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "clean_eval": ("eval_examples",),
    "attribution": ("examples", "steps", "method", "tree_threshold", "heatmap_tokens",
                    "dense_tensors"),
    "heads": ("heads_orderings", "importance_examples", "eval_examples", "pruning_examples", "steps",
              "method"),
    "triggers": ("triggers", "trigger_threshold", "mining_examples", "eval_examples", "steps", "method",
                 "trigger_ranking", "importance_examples") + _TRIGGER_EVIDENCE,
    "baselines": ("baselines", "baseline_examples", "triggers", "trigger_threshold", "mining_examples",
                  "steps", "method", "eval_examples", "trigger_ranking", "importance_examples")
    + _TRIGGER_EVIDENCE,
    "explainers": ("examples", "explainers", "steps", "method"),
    # reads the explainers stage's attention~gradient tau when that stage is selected
    "counterfactual": ("counterfactual_examples", "counterfactual_permutations",
                       "counterfactual_head_examples", "counterfactual_adversarial_examples",
                       "counterfactual_epsilon", "counterfactual_steps", "eval_examples",
                       "examples", "explainers", "counterfactual_reads_explainers"),
    "probing": ("probing_examples", "probing_folds", "probing_properties", "noop_examples"),
}


class AuditConfig(BaseModel):
    """What one audit runs. Every field has a default sized for a CPU in minutes."""

    model_config = ConfigDict(extra="forbid")

    stages: list[str] = Field(default_factory=lambda: list(DEFAULT_STAGES))
    examples: int = Field(8, ge=1, le=500, description="examples shown per-example (attribution, explainers)")
    eval_examples: int = Field(300, ge=1, le=100_000, description="cap on the evaluation slice")
    mining_examples: int = Field(64, ge=1, le=100_000, description="cap on the trigger-mining slice")
    importance_examples: int = Field(48, ge=1, le=100_000, description="cap on the head-importance slice")
    pruning_examples: int = Field(200, ge=1, le=100_000, description="cap on the slice pruning curves use")
    baseline_examples: int = Field(20, ge=1, le=10_000, description="examples each TextAttack recipe attacks")
    steps: int = Field(6, ge=1, le=512, description="integration nodes for AttAttr")
    method: str = Field("gausslegendre", description="AttAttr quadrature")
    triggers: int = Field(5, ge=1, le=100, description="top-k mined triggers evaluated")
    trigger_ranking: str = Field("damage", description="rank mined triggers by attribution or by damage "
                                 "on the importance slice (common.registries.TRIGGER_RANKINGS)")
    trigger_threshold: float = Field(0.05, ge=0.0, description="minimum summed attribution of a mined pattern: "
                                     "a fraction of the example's |F(A)-F(0)| (relative mode) or absolute")
    trigger_threshold_mode: str = Field("relative", description="relative (works on confident models) or "
                                        "absolute (reference code, 0.02); common.registries.TRIGGER_THRESHOLD_MODES")
    judges: list[str | dict[str, Any]] = Field(default_factory=lambda: ["auto"], description=(
        "label judges for the trigger kinds (attacks.judges): 'auto' (VADER on a negative/positive label "
        "pair, else none), 'vader', a JSON file path, or {'name': 'lexicon'|'model'|'nli', ...}"))
    reference_data: str | None = Field(None, description="labelled file for the trigger words' label "
                                       "association (default: the mining and importance slices)")
    reference_data_sha256: str | None = Field(None, description="set by the CLI: the reference file's hash "
                                              "(so the stage cache follows its content)")
    exclude_label_bearing: bool = Field(True, description="set label-bearing candidates apart before ranking "
                                        "by damage (they are still measured and listed)")
    label_bearing_listed: int = Field(3, ge=0, le=50, description="set-apart label-bearing triggers measured")
    heads_orderings: list[str] = Field(default_factory=lambda: ["attattr", "attention", "taylor", "random"])
    baselines: list[str] = Field(default_factory=lambda: ["deepwordbug"])
    explainers: list[str] | None = Field(None, description="explainer names; None = every registered one")
    tree_threshold: float = Field(0.4, gt=0.0, le=1.0)
    counterfactual_examples: int = Field(16, ge=1, le=10_000,
                                         description="examples of the permutation test (per layer)")
    counterfactual_permutations: int = Field(5, ge=1, le=1_000, description="random permutations per "
                                             "example and layer (Jain and Wallace 2019)")
    counterfactual_head_examples: int = Field(4, ge=1, le=10_000, description="examples of the per-head "
                                              "permutation and uniform tests")
    counterfactual_adversarial_examples: int = Field(4, ge=1, le=10_000, description="examples of the "
                                                     "adversarial attention search")
    counterfactual_epsilon: float = Field(0.01, gt=0.0, lt=1.0, description="output TVD the adversarial "
                                          "attention may cost")
    counterfactual_steps: int = Field(20, ge=1, le=2_000, description="adversarial optimiser steps per "
                                      "example block and layer")
    probing_examples: int = Field(300, ge=10, le=100_000, description="evaluation rows the layer probes use")
    probing_folds: int = Field(5, ge=2, le=20, description="cross-validation folds of each probe")
    probing_properties: list[str] = Field(default_factory=lambda: list(registries.PROBING_PROPERTIES),
                                          description="common.registries.PROBING_PROPERTIES")
    noop_examples: int = Field(32, ge=0, le=10_000, description="rows of the [SEP] no-op check (0: skip)")
    seed: int = 0
    text_column: str | None = None
    pair_column: str | None = None
    label_column: str | None = None
    label_names: list[str] | None = Field(
        None, description="names of the model's output classes in index order, for a model whose config "
        "names them LABEL_0, LABEL_1, ...; dataset labels may then use these names")
    mining_fraction: float = Field(0.3, ge=0.0, lt=1.0)
    importance_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    allow_overlap: bool = Field(False, description="every slice is the whole dataset (small data only)")
    max_rows: int | None = Field(None, ge=1, description="read at most this many rows of the dataset")
    truncation: str = Field("head", description="how inputs longer than the model's maximum are cut "
                            "(common.registries.TRUNCATION_SIDES: head, tail, head+tail)")
    max_length: int | None = Field(None, ge=8, le=100_000,
                                   description="cut inputs to this many tokens (default: the model's maximum)")
    heatmap_tokens: int = Field(16, ge=2, le=64, description="tokens per attribution heatmap in the "
                                "report (the top-k by attribution mass; the report's size does not grow with T)")
    dense_tensors: bool = Field(False, description="also write every (L, H, T, T) attribution tensor to "
                                "a safetensors sidecar (attribution_tensors.safetensors)")
    time_budget_s: float | None = Field(None, gt=0)

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(f"no stages selected; valid stages: {', '.join(STAGE_NAMES)}")
        registries.check_names("stage", value)
        return [s for s in STAGE_NAMES if s in value]  # canonical order, no duplicates

    @field_validator("heads_orderings")
    @classmethod
    def _known_orderings(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(f"no head ordering selected; valid: {', '.join(registries.HEAD_ORDERINGS)}")
        return registries.check_names("head ordering", value)

    @field_validator("baselines")
    @classmethod
    def _known_baselines(cls, value: list[str]) -> list[str]:
        return registries.check_names("baseline", value)

    @field_validator("explainers")
    @classmethod
    def _known_explainers(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError(f"no explainer selected; valid: {', '.join(registries.EXPLAINERS)}")
        return registries.check_names("explainer", value)

    @field_validator("label_names")
    @classmethod
    def _distinct_label_names(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        names = [v.strip() for v in value]
        if any(not n for n in names) or len(set(names)) != len(names):
            raise ValueError(f"label names must be distinct and non-empty, got {value}")
        return names
    @field_validator("probing_properties")
    @classmethod
    def _known_properties(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(f"no probing property selected; valid: {', '.join(registries.PROBING_PROPERTIES)}")
        return registries.check_names("probing property", value)

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        return registries.check_name("quadrature", value)

    @field_validator("truncation")
    @classmethod
    def _known_truncation(cls, value: str) -> str:
        return registries.check_name("truncation side", value)
    @field_validator("trigger_threshold_mode")
    @classmethod
    def _known_threshold_mode(cls, value: str) -> str:
        return registries.check_name("trigger threshold mode", value)

    @field_validator("judges")
    @classmethod
    def _known_judges(cls, value: list) -> list:
        for spec in value:
            if isinstance(spec, dict):
                registries.check_name("judge", str(spec.get("name")))
            elif not isinstance(spec, str) or not spec:
                raise ValueError("a judge is 'auto', 'vader', a JSON file path or an object with a 'name'")
        return value

    @field_validator("trigger_ranking")
    @classmethod
    def _known_ranking(cls, value: str) -> str:
        return registries.check_name("trigger ranking", value)

    @model_validator(mode="after")
    def _slices_fit(self) -> AuditConfig:
        if not self.allow_overlap and self.mining_fraction + self.importance_fraction >= 0.95:
            raise ValueError("mining_fraction + importance_fraction must leave at least 5% for evaluation")
        return self

    @property
    def counterfactual_reads_explainers(self) -> bool:
        """The counterfactual verdict takes its Kendall tau from the explainers stage when it runs."""
        return "explainers" in self.stages

    def slice_fields(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _SLICE_FIELDS}

    def cache_key(self, stage: str) -> str:
        """Hash of the config fields ``stage``'s result depends on (and the stage version)."""
        if stage not in STAGE_FIELDS:
            raise ValueError(f"unknown stage {stage!r}; valid stages: {', '.join(STAGE_NAMES)}")
        relevant = {name: getattr(self, name) for name in STAGE_FIELDS[stage]}
        payload = {"stage": stage, "version": STAGE_VERSIONS[stage], "slices": self.slice_fields(),
                   "fields": relevant}
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:20]

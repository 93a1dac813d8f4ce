"""Every named choice of attaudit, declared once (torch-free).

Config validation (``common.audit_config``), the CLI's ``choices``, the API schema and the
libraries all read these tuples; a library that implements a registry maps each name to its
implementation and calls ``check_implemented`` at import, so a name added here without an
implementation (or the other way round) fails loudly instead of drifting.

Unknown names are refused at the boundary with ``unknown(kind, names)``: the CLI exits 2, the
API answers 422, both listing the valid names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Audit stages, in canonical order: a stage may read the cached results of the stages before it.
STAGES: tuple[str, ...] = ("clean_eval", "attribution", "heads", "triggers", "baselines", "explainers",
                           "counterfactual", "probing")

# Stages an audit runs when none are named: all but the opt-in ones.
OPT_IN_STAGES: tuple[str, ...] = ("probing",)

# Sentence properties the layer-wise probes decode (attribution.probing).
PROBING_PROPERTIES: tuple[str, ...] = ("label", "length", "word_order", "negation")

# AttAttr quadrature rules (attribution.quadrature).
QUADRATURES: tuple[str, ...] = ("gausslegendre", "riemann-right", "riemann-left")

# Head-importance orderings (attribution.head_importance).
HEAD_ORDERINGS: tuple[str, ...] = ("attattr", "attention", "taylor", "accdiff", "random")

# TextAttack recipes run as baselines (attacks.baselines): the ones that run offline.
BASELINES: tuple[str, ...] = ("deepwordbug", "pruthi", "input-reduction", "pwws")

# Token-level explainers (attribution.explainers).
EXPLAINERS: tuple[str, ...] = ("attention", "rollout", "grad_attention", "lrp",
                               "integrated_gradients", "grad_input", "attattr")

# Where a trigger's words are inserted (attacks.trigger_insertion).
TRIGGER_POSITIONS: tuple[str, ...] = ("relative", "start", "end", "random")

# How mined patterns are ranked before the damage re-ranking (attacks.trigger_mining).
TRIGGER_MINING_RANKINGS: tuple[str, ...] = ("attribution_sum", "attribution_max", "support")

# How the audit ranks mined triggers: by attribution, or by measured damage on a held-out slice.
TRIGGER_RANKINGS: tuple[str, ...] = ("attribution", "damage")

# What a mining threshold is relative to (attacks.trigger_mining): the example's |F(A)-F(0)|, or absolute.
TRIGGER_THRESHOLD_MODES: tuple[str, ...] = ("relative", "absolute")

# Label judges: does an edited input keep its gold label? (attacks.judges)
JUDGES: tuple[str, ...] = ("lexicon", "model", "nli")

# Judge specs that name no file: VADER on a negative/positive label pair; "auto" = vader when it applies.
JUDGE_SHORTCUTS: tuple[str, ...] = ("auto", "vader")

# Kinds of a measured trigger (attacks.trigger_kinds); only the last two can be vulnerabilities.
TRIGGER_KINDS: tuple[str, ...] = ("label-bearing", "spurious", "counter-evidence")

# Auditable architectures: config.json ``model_type`` -> the class-name prefix of its sequence
# classifier (upload validation checks ``architectures``; attribution.model_loading and
# attribution.intervention implement each). DeBERTa-v3 checkpoints declare model_type
# "deberta-v2".
ARCHITECTURE_CLASSES: dict[str, str] = {
    "bert": "Bert",
    "roberta": "Roberta",
    "distilbert": "DistilBert",
    "electra": "Electra",
    "xlm-roberta": "XLMRoberta",
    "deberta-v2": "DebertaV2",
    "modernbert": "ModernBert",
}
ARCHITECTURES: tuple[str, ...] = tuple(ARCHITECTURE_CLASSES)
# model types people ask for that attaudit cannot audit, with the reason (loader and upload)
UNSUPPORTED_ARCHITECTURES: dict[str, str] = {
    "deberta": "DeBERTa v1 is not supported (DeBERTa-v2/v3, model_type deberta-v2, are)",
    "albert": "ALBERT shares one layer's weights across layers; its attention intervention is not implemented",
    "mpnet": "MPNet's relative-position attention is not wired to the intervention point yet",
}
# Dataset file formats (common.dataset_reader: the one reader of the API and the worker).
DATASET_FORMATS: tuple[str, ...] = ("csv", "tsv", "jsonl", "parquet")
# How inputs longer than the model's maximum are cut (attribution.truncation).
TRUNCATION_SIDES: tuple[str, ...] = ("head", "tail", "head+tail")

REGISTRIES: dict[str, tuple[str, ...]] = {
    "architecture": ARCHITECTURES,
    "stage": STAGES,
    "quadrature": QUADRATURES,
    "head ordering": HEAD_ORDERINGS,
    "baseline": BASELINES,
    "explainer": EXPLAINERS,
    "trigger position": TRIGGER_POSITIONS,
    "trigger mining ranking": TRIGGER_MINING_RANKINGS,
    "trigger ranking": TRIGGER_RANKINGS,
    "trigger threshold mode": TRIGGER_THRESHOLD_MODES,
    "judge": JUDGES,
    "trigger kind": TRIGGER_KINDS,
    "dataset format": DATASET_FORMATS,
    "truncation side": TRUNCATION_SIDES,
    "probing property": PROBING_PROPERTIES,
}


class UnknownName(ValueError):
    """A name that is not in its registry (an input error: CLI exit 2, HTTP 422)."""

    input_error = True


def unknown(kind: str, names: Iterable[str]) -> list[str]:
    """The names not registered under ``kind`` (``REGISTRIES`` key)."""
    valid = REGISTRIES[kind]
    return [n for n in names if n not in valid]


def check_names(kind: str, names: Iterable[str]) -> list[str]:
    """``names`` deduplicated in order; raises ``UnknownName`` listing the valid names."""
    names = list(names)
    bad = unknown(kind, names)
    if bad:
        raise UnknownName(f"unknown {kind}(s) {', '.join(map(repr, bad))}; "
                          f"valid {kind}s: {', '.join(REGISTRIES[kind])}")
    return list(dict.fromkeys(names))


def check_name(kind: str, name: str) -> str:
    return check_names(kind, [name])[0]


def check_implemented(kind: str, implementations: Mapping[str, object] | Iterable[str]) -> None:
    """Raise ``RuntimeError`` unless a library implements exactly the names of registry ``kind``."""
    have = set(implementations)
    want = set(REGISTRIES[kind])
    if have != want:
        raise RuntimeError(f"{kind} registry out of sync: missing implementations "
                           f"{sorted(want - have)}, unregistered implementations {sorted(have - want)}")

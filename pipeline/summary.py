"""Assemble the JSON twin: stage results, run metadata and the summary verdict."""

from __future__ import annotations

import json
import platform
import re
import time
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from common.audit_config import STAGE_NAMES, AuditConfig
from pipeline.stages import missing_requirements

SCHEMA = "attaudit.report/1"
_PACKAGES = ("attaudit", "torch", "transformers", "textattack", "datasets", "numpy")


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = None
    return out


def model_info(model_dir: Path, sha256: str, *, loaded_labels: list[str] | None = None,
               label_names: list[str] | None = None) -> dict[str, Any]:
    """Architecture, labels and shape from config.json (no torch needed).

    ``loaded_labels``: the labels the loaded model reports (transformers leaves default LABEL_i
    names out of config.json); ``label_names``: the user's names (``AuditConfig.label_names``),
    which replace the model's. ``labels_generic`` says the classes are unnamed (LABEL_0, ...)."""
    info: dict[str, Any] = {"path": str(model_dir), "sha256": sha256}
    try:
        cfg = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return info
    id2label = cfg.get("id2label") or {}
    info["architecture"] = cfg.get("model_type")
    info["labels"] = [id2label[k] for k in sorted(id2label, key=lambda k: int(k))]
    if loaded_labels is not None:
        info["labels"] = list(loaded_labels)
    elif not info["labels"]:
        info["labels"] = [f"LABEL_{i}" for i in range(int(cfg.get("num_labels") or 2))]
    info["labels_generic"] = bool(info["labels"]) and all(
        re.fullmatch(r"LABEL_\d+", str(lab)) for lab in info["labels"])
    if label_names:  # the user's names replace the config's in every stage
        info["labels_from_config"], info["labels"] = info["labels"], list(label_names)
        info["labels_generic"] = False
    info["num_layers"] = cfg.get("num_hidden_layers", cfg.get("n_layers"))
    info["num_heads"] = cfg.get("num_attention_heads", cfg.get("n_heads"))
    return info


def summarize(stages: dict[str, dict]) -> dict[str, Any]:
    """The verdict: clean accuracy, the vulnerability verdict (``attacks.verdict``), the worst
    non-label-bearing trigger drop, heads that matter, most faithful explainer."""
    out: dict[str, Any] = {}
    clean = stages.get("clean_eval")
    if clean:
        out["clean_accuracy"] = clean["accuracy"]
        out["clean_n"] = clean["n"]
    trig = stages.get("triggers")
    if trig and trig.get("verdict"):
        out["verdict"] = trig["verdict"]
    if trig and trig.get("triggers"):
        worst = None
        for t in trig["triggers"]:
            if t.get("kind") == "label-bearing":  # the edit changes the label: not a vulnerability
                continue
            for row in t.get("per_class", []):
                if row.get("drop") is not None and (worst is None or row["drop"] > worst["drop"]):
                    worst = {"trigger": " ".join(t["tokens"]), "label": row["label"],
                             "accuracy_before": row["accuracy_before"],
                             "accuracy_after": row["accuracy_after"], "drop": row["drop"]}
        out["worst_trigger"] = worst
    heads = stages.get("heads")
    if heads and heads.get("orderings"):
        name = "attattr" if "attattr" in heads["orderings"] else next(iter(heads["orderings"]))
        imp = heads["orderings"][name]["importance"]
        flat = [(v, layer, h) for layer, row in enumerate(imp) for h, v in enumerate(row)]
        flat.sort(reverse=True)
        out["top_heads"] = {"ordering": name, "heads": [
            {"layer": layer, "head": h, "score": v} for v, layer, h in flat[:3]]}
        curve = heads["orderings"][name].get("pruning", {}).get("global")
        if curve and 0.5 in curve["x"]:
            i = curve["x"].index(0.5)
            out["top_heads"]["half_pruned"] = {"accuracy_least_first": curve["least_first"][i],
                                               "accuracy_most_first": curve["most_first"][i],
                                               "full_accuracy": curve["least_first"][0],
                                               "n": heads.get("n_eval")}
    expl = stages.get("explainers")
    if expl and expl.get("faithfulness"):
        rows = {r["explainer"]: r for r in expl["faithfulness"]}
        best = (rows[expl["ranking"][0]] if expl.get("ranking") else
                max(expl["faithfulness"], key=lambda r: r.get("aopc_comprehensiveness") or -1e9))
        out["most_faithful"] = {"explainer": best["explainer"],
                                "aopc_comprehensiveness": best.get("aopc_comprehensiveness"),
                                "aopc_sufficiency": best.get("aopc_sufficiency"),
                                "aopc_comprehensiveness_ci95": best.get("aopc_comprehensiveness_ci95"),
                                "n": expl.get("n_examples")}
    cf = stages.get("counterfactual")
    if cf and cf.get("verdict"):
        v = cf["verdict"]
        out["attention_verdict"] = {"verdict": v["verdict"], "layer_dependent": v["layer_dependent"],
                                    "layers_by_verdict": v["layers_by_verdict"], "summary": v["summary"]}
    return out


def build_results(*, config: AuditConfig, stage_names: list[str], docs: dict[str, dict],
                  model: dict[str, Any], dataset: dict[str, Any],
                  skipped_for_budget: list[str]) -> dict:
    """The JSON twin of the report (every number the HTML shows comes from here).

    ``model`` is ``model_info(...)`` (plus the device when loaded); ``dataset`` holds its path
    and sha256; ``docs`` are the stage documents of the run's result store.
    """
    stages = {name: doc["result"] for name, doc in docs.items()}
    slice_sizes, rows, truncation = {}, None, None
    for doc in docs.values():
        if doc.get("slice_sizes"):
            slice_sizes, rows = doc["slice_sizes"], doc.get("rows")
        truncation = doc.get("truncation") or truncation
    meta = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": _versions(),
        "model": model,
        "dataset": {**dataset, "rows": rows, "slices": slice_sizes, "truncation": truncation},
        "config": config.model_dump(),
        "seed": config.seed,
        "timings": {name: doc.get("seconds") for name, doc in docs.items()},
        "stages_selected": list(stage_names),
        "stages_not_run": {name: ("not available in this build" if missing_requirements(name) else
                                  "not selected" if name not in stage_names else
                                  "skipped: time budget" if name in skipped_for_budget else
                                  "not run yet")
                           for name in STAGE_NAMES if name not in docs},
    }
    return {"schema": SCHEMA, "metadata": meta, "summary": summarize(stages), "stages": stages}

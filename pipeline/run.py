"""``AuditRun``: run the audit stages with a content-addressed cache, then write the report.

Each stage's result is a document in a ``pipeline.result_store.ResultStore`` keyed by the
stage and ``config.cache_key(stage)``: by default JSON files under
``work_dir/cache/<model sha256>/<dataset sha256>/`` (written atomically), so a re-run, or a
worker retried after a crash, skips finished stages; the service workers pass a store backed
by the database. The model comes from ``loader`` (default ``load_classifier``; the workers
inject their per-process model cache). The CLI and the workers both drive this class: one code
path for the science.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.audit_config import STAGE_NAMES, AuditConfig
from common.hashing import file_sha256, model_dir_sha256
from pipeline.context import StageContext
from pipeline.errors import AuditCancelled, AuditInputError, StageUnavailable
from pipeline.result_store import FileResultStore, ResultStore, json_safe
from pipeline.slices import split_indices, take
from pipeline.stages import check_available, stage_module
from pipeline.summary import build_results, model_info

__all__ = ["AuditRun", "AuditCancelled", "StageUnavailable"]


class AuditRun:
    """One audit of ``model_dir`` on ``data_path`` with ``config``; results cached in ``work_dir``."""

    def __init__(self, model_dir: str | Path, data_path: str | Path, config: AuditConfig,
                 work_dir: str | Path, *,
                 progress: Callable[[str, float], None] | None = None,
                 should_cancel: Callable[[], bool] | None = None,
                 loader: Callable[[Path], Any] | None = None,
                 store: ResultStore | None = None,
                 model_name: str | None = None, data_name: str | None = None):
        self.model_dir = Path(model_dir)
        self.data_path = Path(data_path)
        # What reports and errors call the inputs: the paths for a local audit; the service's
        # worker passes the upload names, so no server path reaches a tenant.
        self.model_name = model_name or str(self.model_dir)
        self.data_name = data_name or str(self.data_path)
        if not self.model_dir.is_dir():
            raise AuditInputError(f"model directory not found: {self.model_name}")
        if not self.data_path.is_file():
            raise AuditInputError(f"data file not found: {self.data_name}")
        self.config = config
        self.work_dir = Path(work_dir)
        self._progress = progress
        self._should_cancel = should_cancel
        for name in config.stages:
            check_available(name, config)
        self.stage_names: list[str] = [s for s in STAGE_NAMES if s in config.stages]
        self.model_sha256 = model_dir_sha256(self.model_dir)
        self.dataset_sha256 = file_sha256(self.data_path)
        self.cache_dir = self.work_dir / "cache" / self.model_sha256[:16] / self.dataset_sha256[:16]
        self.store: ResultStore = store if store is not None else FileResultStore(self.cache_dir)
        self.executed: list[str] = []  # stages computed (not read from the cache) by this object
        self._loader = loader
        self._loaded: Any = None
        self._examples: list[Any] | None = None
        self._slices: dict[str, list[Any]] | None = None
        self._results: dict[str, dict] = {}
        self._skipped_for_budget: list[str] = []

    # -- lazily loaded shared state -------------------------------------------------------
    def loaded(self) -> Any:
        """The classifier (``attribution.model_loading.LoadedClassifier``), loaded on first use."""
        if self._loaded is None:
            if self._loader is None:
                from attribution.model_loading import load_classifier

                self._loaded = load_classifier(self.model_dir)
            else:
                self._loaded = self._loader(self.model_dir)
        return self._loaded

    def labels(self) -> list[str]:
        """The class names, index order: ``config.label_names`` when given (checked against the
        model's number of outputs), else the model config's ``id2label``."""
        own = list(self.loaded().labels)
        names = self.config.label_names
        if names is None:
            return own
        if len(names) != len(own):
            raise AuditInputError(
                f"--label-names gives {len(names)} names ({', '.join(names)}) but the model has "
                f"{len(own)} output classes ({', '.join(own)})")
        return list(names)

    @property
    def is_loaded(self) -> bool:
        return self._loaded is not None

    def examples(self) -> list[Any]:
        if self._examples is None:
            from attribution.data import load_examples

            cfg = self.config
            self._examples = load_examples(
                self.data_path, text_column=cfg.text_column, pair_column=cfg.pair_column,
                label_column=cfg.label_column, labels=self.labels(), limit=cfg.max_rows)
            if not self._examples:
                raise AuditInputError(f"no examples in {self.data_name}")
        return self._examples

    def slices(self) -> dict[str, list[Any]]:
        if self._slices is None:
            rows = self.examples()
            cfg = self.config
            idx = split_indices(len(rows), mining_fraction=cfg.mining_fraction,
                                importance_fraction=cfg.importance_fraction, seed=cfg.seed,
                                allow_overlap=cfg.allow_overlap)
            self._slices = {name: take(rows, ids) for name, ids in idx.items()}
            for name, part in self._slices.items():
                if not part:
                    raise AuditInputError(
                        f"the {name} slice is empty ({len(rows)} rows); use more data or allow_overlap")
        return self._slices

    # -- stages ----------------------------------------------------------------------------
    def _read_cache(self, name: str) -> dict | None:
        return self.store.get(name, self.config.cache_key(name))

    def _tick(self, name: str, fraction: float) -> None:
        if self._should_cancel is not None and self._should_cancel():
            raise AuditCancelled(f"audit cancelled during stage {name}")
        if self._progress is not None:
            self._progress(name, fraction)

    def run_stage(self, name: str) -> dict:
        """The result of stage ``name``: from the cache, or computed, cached and returned."""
        if name not in STAGE_NAMES:
            raise StageUnavailable(f"unknown stage {name!r}; valid stages: {', '.join(STAGE_NAMES)}")
        if name in self._results:
            return self._results[name]["result"]
        doc = self._read_cache(name)
        if doc is None:
            check_available(name, self.config)
            self._tick(name, 0.0)
            ctx = StageContext(self.config, name, loaded=self.loaded, slices=self.slices, labels=self.labels,
                               previous=self.stage_result_if_selected,
                               tick=lambda f: self._tick(name, f),
                               model_sha256=self.model_sha256, dataset_sha256=self.dataset_sha256)
            started = time.time()
            t0 = time.perf_counter()
            result = json_safe(stage_module(name).run(ctx))
            doc = {"stage": name, "cache_key": self.config.cache_key(name),
                   "config": self.config.model_dump(), "started": started,
                   "seconds": round(time.perf_counter() - t0, 3), "result": result,
                   "slice_sizes": {k: len(v) for k, v in (self._slices or {}).items()},
                   "rows": len(self._examples or [])}
            self.store.put(name, doc["cache_key"], doc)
            self.executed.append(name)
            self._tick(name, 1.0)
        self._results[name] = doc
        return doc["result"]

    def stage_result_if_selected(self, name: str) -> dict | None:
        """An earlier stage's result when it is selected (running it if needed) or cached."""
        if name in self.stage_names:
            return self.run_stage(name)
        doc = self._results.get(name) or self._read_cache(name)
        return doc["result"] if doc else None

    def run_all(self) -> dict:
        """Run every selected stage not yet cached (within ``time_budget_s``); return results()."""
        t0 = time.perf_counter()
        budget = self.config.time_budget_s
        for i, name in enumerate(self.stage_names):
            over = budget is not None and i > 0 and time.perf_counter() - t0 > budget
            if over and self._read_cache(name) is None:
                self._skipped_for_budget.append(name)
                continue
            self.run_stage(name)
        return self.results()

    def results(self) -> dict:
        """The JSON twin: every stage result that exists plus run metadata and the summary."""
        docs = {}
        for name in self.stage_names:
            doc = self._results.get(name) or self._read_cache(name)
            if doc is not None:
                docs[name] = doc
        info = model_info(self.model_dir, self.model_sha256, label_names=self.config.label_names,
                          loaded_labels=list(self._loaded.labels) if self._loaded is not None else None)
        info["path"] = self.model_name
        if self._loaded is not None:
            info["device"] = str(self._loaded.device)
        return build_results(
            config=self.config, stage_names=self.stage_names, docs=docs, model=info,
            dataset={"path": self.data_name, "sha256": self.dataset_sha256},
            skipped_for_budget=list(self._skipped_for_budget))

    def write_report(self, out_dir: str | Path) -> dict[str, Path]:
        """Write report.html, report.json (and triggers.json + recipe.py when triggers ran)."""
        from pipeline.report.writer import write_report

        return write_report(self.results(), Path(out_dir))

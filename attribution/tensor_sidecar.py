"""Dense AttAttr tensors in a safetensors sidecar (never in the JSON/HTML report).

Layout (format ``attaudit-attribution/1``), one file per audit, loadable with
``safetensors.torch.load_file``:

* ``example_{i:04d}.scores``: float32 (L, H, T_i, T_i), ``scores[l, h, q, k]`` = Attr_h(A_l)[q, k]
  (Hao et al., AAAI 2021, https://arxiv.org/abs/2004.11207): query token q, attended token k,
  padding removed, examples in the order of the report's ``stages.attribution.examples``;
* ``example_{i:04d}.completeness_gap``: float64 (L,), NaN for layers not attributed;
* header metadata (strings): ``format``, ``examples`` (count) and ``tokens`` (a JSON list of
  each example's token list), ``method``, ``nodes`` (JSON list of per-layer node counts).

No pickle anywhere: safetensors stores raw little-endian buffers and a JSON header.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch

from attribution.attribution_result import AttributionResult

FORMAT = "attaudit-attribution/1"


def save_attributions(results: Sequence[AttributionResult], path: str | Path) -> Path:
    """Write ``results`` to ``path`` atomically (temporary file, then ``os.replace``)."""
    from safetensors.torch import save_file

    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    for i, r in enumerate(results):
        tensors[f"example_{i:04d}.scores"] = r.scores.detach().float().cpu().contiguous()
        tensors[f"example_{i:04d}.completeness_gap"] = torch.tensor(r.completeness_gap,
                                                                    dtype=torch.float64)
    meta = {"format": FORMAT, "examples": str(len(results)),
            "tokens": json.dumps([list(r.tokens) for r in results]),
            "method": results[0].method if results else "",
            "nodes": json.dumps([list(r.nodes) for r in results])}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=meta)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_attributions(path: str | Path) -> tuple[list[torch.Tensor], list[list[str]]]:
    """The (L, H, T, T) score tensors and token lists of a sidecar, in example order."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not an attaudit attribution sidecar (format {meta.get('format')!r})")
    tensors = load_file(str(path))
    n = int(meta["examples"])
    return [tensors[f"example_{i:04d}.scores"] for i in range(n)], json.loads(meta["tokens"])

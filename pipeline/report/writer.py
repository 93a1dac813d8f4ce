"""Write report.html and report.json (and the trigger file + TextAttack recipe) atomically."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from common.atomic_io import write_text_atomic as _write_text_atomic
from pipeline.report.html import render_html


def write_report(results: dict, out_dir: Path, *, artifact_dir: Path | None = None) -> dict[str, Path]:
    """Render everything first, then write each file atomically; returns name -> path.

    When the attribution stage wrote a dense-tensor sidecar (``dense_tensors``) and
    ``artifact_dir`` holds it, it is copied next to report.json as
    ``attribution_tensors.safetensors``."""
    files: dict[str, str] = {
        # compact: the twin of a BERT-base audit is ~40k heatmap numbers per example
        "report.json": json.dumps(results, separators=(",", ":"), allow_nan=False) + "\n",
        "report.html": render_html(results),
    }
    trig = results["stages"].get("triggers")
    if trig and trig.get("trigger_file"):
        from attacks.recipe_export import render_recipe
        from attacks.trigger_file import parse_triggers

        files["triggers.json"] = json.dumps(trig["trigger_file"], indent=1) + "\n"
        recipe = render_recipe(parse_triggers(trig["trigger_file"]), name="recipe.py")
        compile(recipe, "recipe.py", "exec")  # never write a recipe Python cannot import
        files["recipe.py"] = recipe
    out: dict[str, Path] = {}
    for name, text in files.items():
        _write_text_atomic(out_dir / name, text)
        out[name] = out_dir / name
    tensors = (results["stages"].get("attribution") or {}).get("tensors")
    if tensors and artifact_dir is not None and (artifact_dir / tensors["artifact"]).is_file():
        target = out_dir / tensors["file"]
        tmp = out_dir / f".{tensors['file']}.tmp"
        shutil.copyfile(artifact_dir / tensors["artifact"], tmp)
        os.replace(tmp, target)
        out[tensors["file"]] = target
    return out

"""Write report.html and report.json (and the trigger file + TextAttack recipe) atomically."""

from __future__ import annotations

import json
from pathlib import Path

from common.atomic_io import write_text_atomic as _write_text_atomic
from pipeline.report.html import render_html


def write_report(results: dict, out_dir: Path) -> dict[str, Path]:
    """Render everything first, then write each file atomically; returns name -> path."""
    files: dict[str, str] = {
        "report.json": json.dumps(results, indent=1, allow_nan=False) + "\n",
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
    return out

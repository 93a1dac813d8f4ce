"""Shared by the trigger benchmarks: mine, set label-bearing candidates apart, rank by damage,
evaluate, classify (attacks.trigger_kinds) and print every trigger with its kind, raw and judged
drop, and the verdict (attacks.verdict)."""

from __future__ import annotations

import time
from typing import Any


def mine_screen_evaluate(loaded, mine_rows, val_rows, eval_rows, *, association, judges, top_k: int,
                         bearing_k: int = 5, steps: int | None = None, candidates: int = 30,
                         stage=print) -> dict[str, Any]:
    """Mining on ``mine_rows``; damage ranking on ``val_rows``; every number on ``eval_rows``."""
    from attacks.trigger_attack import evaluate_triggers
    from attacks.trigger_kinds import classify_triggers, split_label_bearing
    from attacks.trigger_mining import MiningOptions, mine_triggers, rank_by_damage
    from attacks.verdict import build_verdict
    from attribution.attention_attribution import AttentionAttribution

    out: dict[str, Any] = {}
    stage(f"mining on {len(mine_rows)} rows")
    t0 = time.perf_counter()
    triggers, patterns = mine_triggers(AttentionAttribution(loaded), mine_rows,
                                       options=MiningOptions(max_triggers=candidates, steps=steps))
    out["mining"] = {"rows": len(mine_rows), "patterns": len(patterns), "triggers": len(triggers),
                     "seconds": time.perf_counter() - t0,
                     "top_by_attribution": [t.text for t in triggers[:top_k]]}
    keep, bearing = split_label_bearing(triggers, association=association, judges=judges)
    stage(f"{len(patterns)} patterns, {len(triggers)} candidates: {len(bearing)} label-bearing set apart; "
          f"damage ranking on {len(val_rows)} rows")
    t0 = time.perf_counter()
    keep = rank_by_damage(loaded.model, loaded.tokenizer, keep, val_rows, candidates=candidates) if keep else []
    bearing = rank_by_damage(loaded.model, loaded.tokenizer, bearing, val_rows, candidates=candidates) if bearing else []
    out["mining"]["damage_ranking_seconds"] = time.perf_counter() - t0
    out["mining"]["label_bearing_set_apart"] = [t.text for t in bearing]
    chosen = keep[:top_k] + bearing[:bearing_k]
    stage(f"evaluating {len(chosen)} triggers ({min(top_k, len(keep))} ranked + "
          f"{min(bearing_k, len(bearing))} label-bearing) on {len(eval_rows)} rows")
    t0 = time.perf_counter()
    report = evaluate_triggers(loaded.model, loaded.tokenizer, eval_rows, chosen, labels=loaded.labels,
                               keep_flipped=3)
    findings = classify_triggers(report, association=association, judges=judges)
    evidence = {"association": association.describe() if association else None,
                "judges": [j.describe() for j in judges]}
    out["attack"] = {**report.to_json(), "wall_seconds": time.perf_counter() - t0}
    out["findings"] = [f.to_json() | {"set_apart_before_ranking": i >= min(top_k, len(keep))}
                       for i, f in enumerate(findings)]
    out["verdict"] = build_verdict(findings, loaded.labels, evidence=evidence)
    out["per_class_drop_by_kind"] = drops_by_kind(out["findings"], loaded.labels)
    return out


def drops_by_kind(findings: list[dict], labels: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Per kind and class: mean and max raw drop over the evaluated triggers of that kind."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for kind in ("label-bearing", "spurious", "counter-evidence"):
        rows = [f for f in findings if f["kind"] == kind]
        if not rows:
            continue
        table[kind] = {}
        for c, name in enumerate(labels):
            drops = [f["raw"][c]["drop"] for f in rows if f["raw"][c]["drop"] is not None]
            if drops:
                table[kind][name] = {"triggers": len(drops), "mean_drop": sum(drops) / len(drops),
                                     "max_drop": max(drops)}
    return table


def _pp(x: float | None) -> str:
    return "   n/a" if x is None else f"{100 * x:6.1f}"


def print_findings(r: dict[str, Any], title: str) -> None:
    labels = r["attack"]["labels"]
    print(f"\n{title}: {r['attack']['num_examples']} evaluation rows; drops in percentage points "
          "(clean - triggered accuracy), judged = only rows every judge says keep their label")
    head = "  ".join(f"{n[:13]:>13} raw / judged (n)" for n in labels)
    print(f"{'trigger':28} {'kind':16} {'pushes':13} {head}")
    for f in r["findings"]:
        cells = []
        for c in range(len(labels)):
            raw = f["raw"][c]
            j = f["judged"][c] if f["judged"] else None
            cells.append(f"{_pp(raw['drop'])} / {_pp(j['drop']) if j else '   n/a'} ({j['n'] if j else raw['n']:>3})"
                         .rjust(30))
        mark = "*" if f.get("set_apart_before_ranking") else " "
        print(f"{mark}{f['trigger'][:27]:27} {f['kind']:16} {f['pushes_toward'][:13]:13} {'  '.join(cells)}")
    print("(* = set apart as label-bearing before the damage ranking, measured anyway)")
    v = r["verdict"]
    print(f"kinds: {v['counts']}; evidence: association "
          f"{'yes' if v['evidence'].get('association') else 'no'}, judges "
          f"{[j['name'] for j in v['evidence'].get('judges', [])] or 'none'}")
    for e in v["per_class"]:
        w = e["worst"]
        if w is None:
            print(f"  {e['label']}: no spurious/counter-evidence trigger measured")
            continue
        lo, hi = w["drop_ci95_pp"]
        print(f"  {e['label']}: worst {w['trigger']!r} ({w['kind']}, {w['basis']}) drop {w['drop_pp']:.1f} pp "
              f"[{lo:.1f}, {hi:.1f}] n={w['n']} success {100 * (w['success_rate'] or 0):.1f}% -> "
              f"{'VULNERABILITY' if w['is_vulnerability'] else 'not a vulnerability (CI includes 0)'}")
    print(f"VERDICT: {v['headline']}")
    for kind, per in r["per_class_drop_by_kind"].items():
        print(f"  {kind:16} " + "  ".join(f"{name}: mean {100 * d['mean_drop']:.1f} max {100 * d['max_drop']:.1f} pp "
                                          f"({d['triggers']} triggers)" for name, d in per.items()))

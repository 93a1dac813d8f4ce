"""Report sections: triggers with TextAttack baselines, explainers and faithfulness."""

from __future__ import annotations

import difflib

from pipeline.intervals import FEW_EXAMPLES
from pipeline.report import sections_verdict, svg
from pipeline.report.colors import sequential, text_on
from pipeline.report.format import esc, num, pct, pp, secs
from pipeline.report.sections_core import not_run


def _diff_html(before: str, after: str) -> str:
    """``after`` with the words that are not in ``before`` marked <ins>."""
    a, b = before.split(), after.split()
    out = []
    for op, _i1, _i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        words = " ".join(esc(w) for w in b[j1:j2])
        if words:
            out.append(words if op == "equal" else f"<ins>{words}</ins>")
    return " ".join(out)


def _example_pair(ex: dict, labels: list[str]) -> str:
    def lab(i):
        return (esc(labels[i]) if i is not None and 0 <= i < len(labels) else "?")
    return (f"<tr><td>{esc(ex['before'])}</td><td class='diff'>{_diff_html(ex['before'], ex['after'])}</td>"
            f"<td>{lab(ex.get('gold'))}</td><td>{lab(ex.get('pred_before'))} &rarr; "
            f"{lab(ex.get('pred_after'))}</td></tr>")


def _interval(ci: list | None, fmt) -> str:
    """' [low, high]' after a figure (the 95% interval in the JSON twin), '' when there is none."""
    if not ci or ci[0] is None or ci[1] is None:
        return ""
    return f' <span class="ci">[{fmt(ci[0])}, {fmt(ci[1])}]</span>'


def _fewest_attacked(b: dict) -> int | None:
    """The smallest number of attacked examples behind a success rate (only correctly classified
    examples are attacked, so it can be well under the examples given)."""
    counts = [r.get("attacked", r.get("n")) for r in b.get("recipes", [])]
    counts = [c for c in counts if c is not None]
    return min(counts) if counts else b.get("n_examples")


def few_examples(n: int | None, what: str) -> str:
    """A warning when a figure rests on fewer than FEW_EXAMPLES examples."""
    if n is None or n >= FEW_EXAMPLES:
        return ""
    return (f'<p class="warn" data-few="{n}">{esc(what)} rest on {n} examples only: read the 95% intervals, '
            f"not the point values; differences inside them are noise. Raise the example budget for a "
            f"firmer reading.</p>")


def _direction(tr: dict) -> str:
    """The measured direction of a trigger: where the predictions it flipped went, not the label the
    mining examples were predicted as (that is only where the pattern was found)."""
    flipped = tr.get("flipped_to") or {}
    mined = tr.get("pushed_label")
    tip = (f' title="mined from examples the model predicted {esc(mined)}; measured: '
           f'{esc(", ".join(f"{k} {v}" for k, v in flipped.items()) or "no flips")}"' if mined else "")
    if not flipped:
        return f"<td{tip}>no prediction flipped</td>"
    label, count = next(iter(flipped.items()))
    total = sum(flipped.values())
    return f"<td{tip}>{esc(label)} ({count} of {total} flips)</td>"


def triggers(results: dict) -> str:
    t = results["stages"].get("triggers")
    if t and not t.get("triggers"):
        return (f'<section id="triggers"><h2>Attribution-mined triggers</h2><p class="not-run" '
                f'data-empty="triggers">Mining ran on {t.get("n_mining")} examples and found no trigger: '
                f'{esc(t.get("note", ""))}.</p>{baselines(results)}</section>')
    if not t:
        return (f'<section id="triggers"><h2>Triggers</h2>{not_run(results, "triggers")}'
                f"{baselines(results)}</section>")
    labels = t["labels"]
    head = "".join(f"<th>{esc(lab)} accuracy: before &rarr; after (change)</th>" for lab in labels)
    rows, details = [], []
    for i, tr in enumerate(t["triggers"]):
        per = {r["label"]: r for r in tr["per_class"]}
        cells = "".join(
            f"<td class='n'>{pct(per[lab]['accuracy_before'])} &rarr; {pct(per[lab]['accuracy_after'])} "
            f"({pp(per[lab]['drop'])})</td>" if lab in per else "<td>n/a</td>" for lab in labels)
        rows.append(f"<tr><td class='n'>{i + 1}</td><td><b>{esc(' '.join(tr['tokens']))}</b></td>"
                    f"<td>{esc(tr.get('kind', 'n/a'))}</td>"
                    f"{_direction(tr)}<td class='n'>{num(tr.get('score'))}</td>"
                    f"<td class='n'>{tr.get('support', 'n/a')}</td>{cells}"
                    f"<td class='n'>{pct(tr.get('success_rate'))}</td></tr>")
        exs = "".join(_example_pair(e, labels) for e in tr.get("examples", [])[:5])
        if exs:
            details.append(f"<details><summary>Examples flipped by &ldquo;{esc(' '.join(tr['tokens']))}"
                           f"&rdquo;</summary><table><tr><th>before</th><th>after</th><th>gold</th>"
                           f"<th>prediction</th></tr>{exs}</table></details>")
    table = (f'<table id="trigger-table"><tr><th>#</th><th>trigger</th><th>kind</th><th title="measured on the '
             f'evaluation slice: the label the flipped predictions moved to">flips predictions to</th><th>score</th>'
             f"<th>support</th>{head}<th>attack success</th></tr>{''.join(rows)}</table>")
    return (f'<section id="triggers"><h2>Attribution-mined triggers</h2><p class="note">Triggers mined on '
            f'the mining slice ({t.get("n_mining", "n/a")} examples) from the largest-attribution token pairs '
            f'(Hao et al. 2021, section 4.4), inserted into the evaluation slice ({t.get("n_eval", "n/a")} '
            f"examples) at their relative positions.</p>{table}{''.join(details)}"
            f"{sections_verdict.kinds_table(results)}{baselines(results)}</section>")


def baselines(results: dict) -> str:
    b = results["stages"].get("baselines")
    if not b:
        return f'<h3 id="baselines">TextAttack baselines</h3>{not_run(results, "baselines")}'
    labels = b.get("labels", [])
    rows = "".join(
        f"<tr><td>{esc(r['name'])}</td><td class='n'>{r.get('attacked', r['n'])}</td>"
        f"<td class='n'>{pct(r['success_rate'])}{_interval(r.get('success_rate_ci95'), pct)}</td>"
        f"<td class='n'>{num(r.get('avg_queries'))}</td><td class='n'>{secs(r.get('seconds'))}</td></tr>"
        for r in b["recipes"])
    bars = svg.bar_chart([(r["name"], r["success_rate"]) for r in b["recipes"]],
                         title="attack success rate by recipe")
    exs = "".join(
        f"<details><summary>{esc(r['name'])}: example perturbations</summary><table><tr><th>before</th>"
        f"<th>after</th><th>gold</th><th>prediction</th></tr>"
        f"{''.join(_example_pair(e, labels) for e in r.get('examples', [])[:4])}</table></details>"
        for r in b["recipes"] if r.get("examples"))
    return (f'<h3 id="baselines">Comparison with TextAttack recipes</h3><p class="note">The same '
            f"examples attacked by TextAttack's own recipes and by the mined triggers through the exported "
            f"recipe (success rate = fraction of correctly classified inputs flipped, with its 95% Wilson "
            f"interval).</p>{few_examples(_fewest_attacked(b), 'These success rates')}"
            f'<div class="flex"><table id="baseline-table"><tr><th>recipe</th><th>attacked</th>'
            f"<th>success rate [95% CI]</th><th>avg queries</th><th>time</th></tr>{rows}</table>{bars}</div>{exs}")


def _highlight(tokens: list[str], scores: list[float]) -> str:
    top = max((abs(float(s)) for s in scores), default=1.0) or 1.0
    spans = []
    for tok, s in zip(tokens, scores, strict=True):
        t = abs(float(s)) / top
        spans.append(f'<span style="background:{sequential(t)};color:{text_on(t)}" title="{num(s)}">'
                     f"{esc(tok)}</span>")
    return "".join(spans)


def _tau_note(t: dict | None) -> str:
    """Under a Kendall tau mean: how many examples it is over, when tau is undefined for some
    (a constant ranking, e.g. leave-one-out of a saturated model: scipy gives NaN)."""
    if not t or not t.get("note"):
        return ""
    return (f'<div class="tau-note" title="Kendall tau is undefined when a ranking is constant (all ties); '
            f'the mean is over the {t.get("n", 0)} examples where it is defined">{esc(t["note"])}</div>')


def _pairwise(e: dict) -> str:
    pairs = {k: v for k, v in (e.get("pairwise_tau") or {}).items() if v}
    if not pairs:
        return ""
    rows = "".join(f"<tr><td>{esc(k.replace('~', ' vs '))}</td><td class='n'>{num(v['mean'])}"
                   f"{_tau_note(v)}</td><td class='n'>{num(v['std'])}</td>"
                   f"<td class='n'>{pct(v['fraction_significant'])}</td></tr>"
                   for k, v in pairs.items())
    return ("<h3>Agreement between explainers (Jain and Wallace 2019)</h3><table id='tau-table'><tr>"
            "<th>pair</th><th>Kendall tau mean</th><th>std</th><th>p &lt; 0.05</th></tr>" + rows + "</table>")


def explainers(results: dict) -> str:
    e = results["stages"].get("explainers")
    if not e:
        return f'<section id="explainers"><h2>Explainers and faithfulness</h2>{not_run(results, "explainers")}</section>'
    cols = [("aopc_comprehensiveness", "AOPC comprehensiveness (higher = more faithful)"),
            ("aopc_sufficiency", "AOPC sufficiency (lower = more faithful)"),
            ("kendall_loo", "Kendall tau vs leave-one-out (mean)"),
            ("kendall_loo_significant", "fraction with p < 0.05")]
    present = [(k, name) for k, name in cols
               if any(r.get(k) is not None or (k == "kendall_loo" and (r.get("kendall_loo_detail") or {}).get("note"))
                      for r in e["faithfulness"])]
    head = "".join(f"<th>{esc(name)}</th>" for _, name in present)
    by_name = {r["explainer"]: r for r in e["faithfulness"]}
    ranked = ([by_name[n] for n in e["ranking"]] if e.get("ranking") else
              sorted(e["faithfulness"], key=lambda r: -(r.get("aopc_comprehensiveness") or -1e9)))
    def cell(r: dict, k: str) -> str:
        extra = (_tau_note(r.get("kendall_loo_detail")) if k == "kendall_loo" else
                 _interval(r.get(f"{k}_ci95"), num) if k.startswith("aopc_") else "")
        return f"<td class='n'>{num(r.get(k))}{extra}</td>"

    rows = "".join(f"<tr><td>{esc(r['explainer'])}</td>" + "".join(cell(r, k) for k, _ in present)
                   + "</tr>" for r in ranked)
    exs = e.get("examples", [])
    skipped = "".join(f"<p class='note'>{esc(n)}: not applicable to this model ({esc(why)})</p>"
                      for n, why in (e.get("not_applicable") or {}).items())
    opts = "".join(f'<option value="{i}">{i + 1}: {esc(x["text"][:60])}</option>' for i, x in enumerate(exs))
    blocks = "".join(
        f'<div class="per-example" data-group="expl" data-index="{i}">' + "".join(
            f'<div class="hl-row"><b>{esc(name)}</b><span class="tokens">{_highlight(x["tokens"], sc)}</span></div>'
            for name, sc in x["scores"].items()) + "</div>" for i, x in enumerate(exs))
    return (f'<section id="explainers"><h2>Explainers and faithfulness</h2><p class="note">ERASER '
            f"comprehensiveness and sufficiency (DeYoung et al. 2020) with AOPC over the 1, 5, 10, 20, 50% bins, "
            f"tokens removed by {esc(e.get('removal', 'masking'))}; ranked most faithful first "
            f"(AOPC comprehensiveness minus AOPC sufficiency), on the first {e.get('n_examples', 'n/a')} "
            f"examples of the evaluation slice; [low, high] is the 95% interval over those examples.</p>"
            f"{few_examples(e.get('n_examples'), 'These faithfulness scores')}"
            f'<table id="faithfulness-table"><tr><th>explainer</th>{head}</tr>{rows}</table>{skipped}{_pairwise(e)}'
            f'<h3>Per-example highlights</h3><div class="controls"><label>Example <select id="sel-expl" '
            f'data-group="expl">{opts}</select></label></div>{blocks}</section>')

"""Report section: "is attention explanation?", the counterfactual tests and the verdict."""

from __future__ import annotations

from pipeline.report.format import esc, num, pct
from pipeline.report.sections_core import not_run

VERDICT_TEXT = {
    "supported": "the counterfactual tests support reading attention as the explanation",
    "not supported": "the counterfactual tests do not support reading attention as the explanation",
    "mixed": "the counterfactual tests partly support reading attention as the explanation",
    "layer-dependent": "the answer depends on the layer",
    "undetermined": "no test ran",
}


def _ci(pair: list | None) -> str:
    return "n/a" if not pair else f"{num(pair[0])} to {num(pair[1])}"


def _layer_rows(c: dict) -> str:
    adv = {r["layer"]: r for r in c["adversarial"]["layers"]}
    uni = {r["layer"]: r for r in c["uniform"]["layers"]}
    ver = {r["layer"]: r for r in c["verdict"]["layers"]}
    rows = []
    for p in c["permutation"]["layers"]:
        layer = p["layer"]
        a, u, v = adv.get(layer, {}), uni.get(layer, {}), ver.get(layer, {})
        rows.append(
            f"<tr data-layer='{layer}'><td class='n'>{layer}</td><td class='n'>{num(p['mean_max_attention'])}</td>"
            f"<td class='n'>{num(p['median_output_change'])}</td><td class='n'>{pct(p['fraction_changed'])}</td>"
            f"<td class='n'>{num(a.get('mean_jsd'))}</td><td class='n'>{pct(a.get('fraction_far'))}</td>"
            f"<td class='n'>{pct(a.get('fraction_prediction_kept'))}</td>"
            f"<td class='n'>{num(u.get('accuracy_drop'))}</td><td class='n'>{_ci(u.get('drop_ci95'))}</td>"
            f"<td>{esc(v.get('verdict', 'n/a'))}</td></tr>")
    return "".join(rows)


def _heads(c: dict) -> str:
    rows = sorted(c["uniform"].get("heads") or [], key=lambda r: -(r["accuracy_drop"] or 0))[:5]
    if not rows:
        return ""
    perm = {r["layer"]: r.get("head_median_output_change") for r in c["permutation"]["layers"]}
    body = "".join(
        f"<tr><td class='n'>{r['layer']}</td><td class='n'>{r['head']}</td>"
        f"<td class='n'>{num((perm.get(r['layer']) or [None] * (r['head'] + 1))[r['head']])}</td>"
        f"<td class='n'>{num(r['accuracy_drop'])}</td><td class='n'>{_ci(r['drop_ci95'])}</td></tr>"
        for r in rows)
    return (f"<h3>Heads whose uniform attention costs most (n={c['uniform'].get('heads_n')})</h3>"
            '<table id="counterfactual-heads"><tr><th>layer</th><th>head</th>'
            "<th>median output change, head permuted</th><th>accuracy drop, head uniform</th>"
            f"<th>95% CI</th></tr>{body}</table>")


def counterfactual(results: dict) -> str:
    c = results["stages"].get("counterfactual")
    title = "<h2>Is attention explanation? Counterfactual tests</h2>"
    if not c:
        return f'<section id="counterfactual">{title}{not_run(results, "counterfactual")}</section>'
    v, p, a, u = c["verdict"], c["permutation"], c["adversarial"], c["uniform"]
    corr = (v.get("correlation") or {}).get("evidence", "correlation not measured")
    evidence = f"<li>{esc(corr)}</li>"
    al = u["all_layers"]
    return (
        f'<section id="counterfactual">{title}'
        f'<p id="counterfactual-verdict" data-verdict="{esc(v["verdict"])}"><b>Verdict: {esc(v["verdict"])}</b>'
        f" &mdash; {esc(VERDICT_TEXT.get(v['verdict'], ''))}. {esc(v['summary'])}</p>"
        f"<ul class='evidence'>{evidence}<li>uniform attention in every layer: accuracy "
        f"{pct(al['accuracy'])} against {pct(u['model_accuracy'])}, drop {num(al['accuracy_drop'])} "
        f"(95% CI {_ci(al['drop_ci95'])}, n={al['n']})</li></ul>"
        f"<p class='note'>Permutation test (Jain and Wallace 2019): each real query row's weights "
        f"permuted over the real keys, {p['permutations']} permutations, n={p['n']}; output change is the "
        f"total-variation distance of the class probabilities, median per example. Adversarial attention "
        f"(Jain and Wallace 2019): per layer, the most different attention (Jensen-Shannon divergence, "
        f"at most {num(a['jsd_max'])}) keeping the output within TVD {num(a['epsilon_tvd'])}, "
        f"{a['steps']} steps, n={a['n']}; &ldquo;far&rdquo; means JSD &ge; {num(a['far_threshold'])}. "
        f"Uniform attention (Wiegreffe and Pinter 2019): the layer's attention made uniform over the real "
        f"tokens, accuracy drop with Newcombe's paired 95% interval, n={u['n']}. In the last layer only "
        f"the first token's row reaches the classifier, so only that row is searched and measured.</p>"
        '<table id="counterfactual-table"><tr><th>layer</th><th>max attention</th>'
        "<th>median output change (permuted)</th><th>examples changed &ge; "
        f"{num(p['change_threshold'])}</th><th>mean JSD reached</th><th>far</th><th>prediction kept</th>"
        f"<th>accuracy drop (uniform)</th><th>95% CI</th><th>layer verdict</th></tr>{_layer_rows(c)}</table>"
        f"{_heads(c)}</section>")

"""Report sections: summary verdict, attribution, head importance and pruning, run metadata."""

from __future__ import annotations

from pipeline.intervals import FEW_EXAMPLES
from pipeline.report import svg
from pipeline.report.format import esc, num, pct, pp, secs

STAGE_TITLES = {
    "clean_eval": "clean evaluation", "attribution": "attribution", "heads": "head analysis",
    "triggers": "trigger mining and attack", "baselines": "TextAttack baselines",
    "explainers": "explainers and faithfulness",
    "counterfactual": "counterfactual attention tests",
    "probing": "layer-wise probing",
}


def not_run(results: dict, stage: str) -> str:
    """The note a section shows when its stage did not run."""
    reason = results["metadata"]["stages_not_run"].get(stage, "not run")
    return (f'<p class="not-run" data-not-run="{stage}">The {STAGE_TITLES[stage]} stage did not run '
            f"({esc(reason)}), so this section is empty. Run it with "
            f"<code>--stages {stage}</code>.</p>")


def summary(results: dict) -> str:
    s, stages = results["summary"], results["stages"]
    cards = []
    if "clean_accuracy" in s:
        clean = stages["clean_eval"]
        per = ", ".join(f"{esc(r['label'])} {pct(r['accuracy'])}" for r in clean["per_class"])
        cards.append(f'<div class="card" id="card-accuracy"><div class="label">Clean accuracy</div>'
                     f'<div class="big">{pct(s["clean_accuracy"])}</div><div>{per}</div>'
                     f'<div class="muted">on the {clean["n"]} labelled examples of the evaluation slice</div></div>')
    else:
        cards.append('<div class="card"><div class="label">Clean accuracy</div><div>not measured</div></div>')
    w = s.get("worst_trigger")
    if w:
        cards.append(f'<div class="card" id="card-trigger"><div class="label">Worst trigger</div>'
                     f'<div class="big">{pp(w["drop"])}</div><div>&ldquo;{esc(w["trigger"])}&rdquo; '
                     f'changes {esc(w["label"])} accuracy from {pct(w["accuracy_before"])} to '
                     f'{pct(w["accuracy_after"])} ({pp(w["drop"])})</div></div>')
    else:
        cards.append('<div class="card"><div class="label">Worst trigger</div><div>not measured</div></div>')
    top = s.get("top_heads")
    if top:
        heads = ", ".join(f'L{h["layer"]}-H{h["head"]} ({num(h["score"])})' for h in top["heads"])
        half = top.get("half_pruned")
        prune = (f"<div>Pruning the 50% least important heads: accuracy {pct(half['full_accuracy'])} &rarr; "
                 f"{pct(half['accuracy_least_first'])}; the 50% most important: "
                 f"{pct(half['accuracy_most_first'])}.</div><div class=\"muted\">Pruning accuracy is on the first "
                 f"{half.get('n', 'n/a')} examples of the evaluation slice ({pct(half['full_accuracy'])} there "
                 f"with every head){_subset_note(half.get('n'), s.get('clean_n'))}.</div>" if half else "")
        cards.append(f'<div class="card" id="card-heads"><div class="label">Heads that matter '
                     f'({esc(top["ordering"])})</div><div class="big">{heads.split(" (")[0]}</div>'
                     f"<div>{heads}</div>{prune}</div>")
    else:
        cards.append('<div class="card"><div class="label">Heads that matter</div><div>not measured</div></div>')
    f = s.get("most_faithful")
    if f:
        cards.append(f'<div class="card" id="card-faithful"><div class="label">Most faithful explainer</div>'
                     f'<div class="big">{esc(f["explainer"])}</div><div>comprehensiveness AOPC '
                     f'{num(f["aopc_comprehensiveness"])}{_ci_text(f.get("aopc_comprehensiveness_ci95"))}</div>'
                     f'{_few_card(f.get("n"))}</div>')
    else:
        cards.append('<div class="card"><div class="label">Most faithful explainer</div><div>not measured</div></div>')
    return (f'<section id="summary"><h2>Summary</h2><div class="cards">{"".join(cards)}</div>'
            f"{label_hint(results)}</section>")


def _ci_text(ci: list | None) -> str:
    return f" [{num(ci[0])}, {num(ci[1])}]" if ci and None not in ci else ""


def _few_card(n: int | None) -> str:
    """Sample size under a summary figure, flagged when small."""
    if n is None:
        return ""
    few = n < FEW_EXAMPLES
    return (f'<div class="{"warn-text" if few else "muted"}">on the first {n} examples of the evaluation slice'
            f'{": few, see the interval" if few else ""}</div>')


def _subset_note(n: int | None, clean_n: int | None) -> str:
    """Whether a figure's examples are the clean-accuracy examples or a subset of them."""
    if n is None or clean_n is None:
        return ""
    return ", the same examples as clean accuracy" if n == clean_n else ", a subset of the clean-accuracy examples"


def label_hint(results: dict) -> str:
    """A hint when the model names its classes LABEL_0, LABEL_1, ... (no names in its config)."""
    model = results["metadata"].get("model", {})
    if not model.get("labels_generic"):
        return ""
    labels = model.get("labels") or []
    example = ",".join(f"NAME{i}" for i in range(len(labels)))
    return (f'<p class="hint" id="label-hint">This model&rsquo;s config does not name its classes '
            f"({esc(', '.join(labels))}), so neither can this report. Name them in index order with "
            f"<code>attaudit audit ... --label-names {esc(example)}</code> (for example "
            f"<code>negative,positive</code>; Python: "
            f"<code>AuditConfig(label_names=[...])</code>); dataset labels may then use those names.</p>")


def clean_eval(results: dict) -> str:
    c = results["stages"].get("clean_eval")
    if not c:
        return f'<section id="clean"><h2>Clean evaluation</h2>{not_run(results, "clean_eval")}</section>'
    labels = c["labels"]
    head = "".join(f"<th>pred {esc(lab)}</th>" for lab in labels)
    rows = "".join(
        f"<tr><th>{esc(r['label'])}</th><td class='n'>{r['n']}</td><td class='n'>{pct(r['accuracy'])}</td>"
        + "".join(f"<td class='n'>{v}</td>" for v in c["confusion"][i]) + "</tr>"
        for i, r in enumerate(c["per_class"]))
    return (f'<section id="clean"><h2>Clean evaluation</h2><p>{c["n"]} labelled examples of the '
            f'evaluation slice; accuracy {pct(c["accuracy"])}.</p><table><tr><th>gold class</th><th>n</th>'
            f"<th>accuracy</th>{head}</tr>{rows}</table></section>")


def default_layer(example: dict) -> int:
    """The layer the heatmap opens on: below the top layer (where only the [CLS] row is non-zero,
    so the map looks empty), the one with the largest total |attribution| (head-summed) among the
    heatmap's tokens (the ones with the most attribution mass)."""
    mats = example["heatmap"]["head_summed"]  # (L, k, k)
    layers = len(mats)
    if layers < 2:
        return 0
    mass = [sum(abs(float(v)) for row in mats[lay] for v in row) for lay in range(layers - 1)]
    return max(range(layers - 1), key=lambda lay: (mass[lay], lay))


def attribution(results: dict) -> str:
    a = results["stages"].get("attribution")
    if not a or not a.get("examples"):
        return f'<section id="attribution"><h2>Token-pair attribution</h2>{not_run(results, "attribution")}</section>'
    exs = a["examples"]
    layers, heads = len(exs[0]["heatmap"]["scores"]), len(exs[0]["heatmap"]["scores"][0])
    labels = a["labels"]
    ex_opts = "".join(f'<option value="{i}">{i + 1}: {esc(e["text"][:60])}</option>' for i, e in enumerate(exs))
    start = default_layer(exs[0])
    layer_opts = "".join(f'<option value="{lay}"{" selected" if lay == start else ""}>layer {lay}'
                         f'{" (top: [CLS] row only)" if lay == layers - 1 and layers > 1 else ""}</option>'
                         for lay in range(layers))
    head_opts = '<option value="sum">all heads (sum)</option>' + "".join(
        f'<option value="{h}">head {h}</option>' for h in range(heads))
    trees = []
    for i, e in enumerate(exs):
        pred = labels[e["prediction"]]
        gap = max(abs(g) for g in e["completeness_gap"])
        body = (svg.tree_graph(e["tree"], title=f"attribution tree, example {i + 1}") if e.get("tree")
                else '<p class="muted">Attribution tree not computed (head-analysis library absent).</p>')
        trees.append(f'<div class="per-example" data-group="attr" data-index="{i}"><p>Predicted '
                     f'<b>{esc(pred)}</b> (p = {num(e["probabilities"][e["prediction"]])}); largest '
                     f"completeness gap over layers {num(gap)}.</p>{body}</div>")
    return (f'<section id="attribution"><h2>Token-pair attribution (AttAttr)</h2>'
            f'<p class="note">Attribution of each attention link to the {esc("predicted")} class probability '
            f'(Hao et al., AAAI 2021), {esc(a["method"])} quadrature with {a["steps"]} nodes, on the first '
            f'{len(exs)} examples of the evaluation slice. Rows: query token; '
            f"columns: attended token. Purple = pushes toward the prediction, orange = against. "
            f"The heatmap opens on layer {start}, the layer below the top with the most attribution for the "
            f"first example. In the top layer (layer {layers - 1}) only the [CLS] row can be non-zero: the "
            f"classifier reads the [CLS] vector alone, so no other token's attention there reaches the "
            f"output and its attribution is exactly zero. Long inputs show the tokens with the most attribution "
            f"mass (at most {len(exs[0]['heatmap']['index'])} here); the dense tensors are in the safetensors "
            f"sidecar when requested (<code>dense_tensors</code>).</p>"
            f'<div class="controls"><label>Example <select id="sel-example" data-group="attr">{ex_opts}'
            f'</select></label><label>Layer <select id="sel-layer">{layer_opts}</select></label>'
            f'<label>Head <select id="sel-head">{head_opts}</select></label></div>'
            f'<div class="flex"><div id="attr-heatmap"></div><div><h3>Top connections in this layer</h3>'
            f'<ol id="attr-top"></ol></div></div><h3>Attribution tree</h3><p class="note">Information flow '
            f"(Hao et al. 2021, section 4.3): the top row (layer {layers}) is the [CLS] output the classifier "
            f"reads; a token on row l is attended to in layer l by its parent; line width: the attribution "
            f'of that link.</p>{"".join(trees)}</section>')


def heads(results: dict) -> str:
    h = results["stages"].get("heads")
    if not h:
        return f'<section id="heads"><h2>Head importance and pruning</h2>{not_run(results, "heads")}</section>'
    maps = "".join(f'<div><h3>{esc(name)}</h3>{svg.heatmap(o["importance"], title=f"head importance: {name}")}</div>'
                   for name, o in h["orderings"].items())
    curves = []
    for kind, xlabel in (("global", "heads pruned (fraction of all heads)"),
                         ("per_layer", "heads pruned in every layer")):
        for order, words in (("least_first", "least important first"), ("most_first", "most important first")):
            series = [{"name": name, "x": o["pruning"][kind]["x"], "y": o["pruning"][kind][order], "style": i}
                      for i, (name, o) in enumerate(h["orderings"].items())
                      if (o.get("pruning") or {}).get(kind)]
            if series:
                whole = sorted({x for sr in series for x in sr["x"]}) if kind == "per_layer" else None
                curves.append(svg.line_chart(
                    series, x_label=xlabel, y_label="accuracy", x_as_pct=kind == "global", x_ticks=whole,
                    title=f"{'Global' if kind == 'global' else 'Per-layer'} pruning, {words}"))
    stats = attention_stats(h)
    return (f'<section id="heads"><h2>Head importance and pruning</h2><p class="note">Importance of each '
            f"head (rows: layers, columns: heads) on the importance slice ({h.get('n_importance', 'n/a')} "
            f"examples), one map per ordering.</p><div class=\"flex\">{maps}</div><h3>Pruning curves</h3>"
            f'<p class="note">Accuracy as heads are masked, on the first {h.get("n_eval", "n/a")} examples of the '
            f"evaluation slice (at 0 heads pruned: the full model on those examples). Left: the least important "
            f"heads go first (a good ordering keeps accuracy up); right: the most important go first (a good "
            f"ordering makes it fall fast). One colour, dash pattern and marker per ordering.</p>"
            f'<div class="flex" id="pruning">{"".join(curves)}</div>{stats}</section>')


def attention_stats(h: dict) -> str:
    stats = h.get("attention_stats")
    if not stats:
        return ""
    maps = "".join(f'<div><h3>{esc(name)}</h3>{svg.heatmap(m, title=f"attention to {name}", cell=16)}</div>'
                   for name, m in stats.items())
    return (f'<h3 id="attention-stats">Attention-pattern statistics</h3><p class="note">Mean attention per '
            f"head (Clark et al. 2019), rows: layers, columns: heads.</p><div class=\"flex\">{maps}</div>")


def metadata(results: dict) -> str:
    m = results["metadata"]
    model, data = m["model"], m["dataset"]
    rows = [("created", m["created"]), ("model", model["path"]), ("model sha256", model["sha256"]),
            ("architecture", model.get("architecture")), ("labels", ", ".join(model.get("labels") or [])),
            ("layers x heads", f'{model.get("num_layers")} x {model.get("num_heads")}'),
            ("dataset", data["path"]), ("dataset sha256", data["sha256"]), ("rows", data.get("rows")),
            ("slices", ", ".join(f"{k} {v}" for k, v in data.get("slices", {}).items())),
            ("seed", m["seed"])]
    rows += [(f"version: {k}", v) for k, v in m["versions"].items()]
    rows += [(f"time: {k}", secs(v)) for k, v in m["timings"].items()]
    rows += [(f"not run: {k}", v) for k, v in m["stages_not_run"].items()]
    body = "".join(f"<tr><th>{esc(k)}</th><td class='mono'>{esc(v)}</td></tr>" for k, v in rows)
    cfg = esc(", ".join(f"{k}={v}" for k, v in m["config"].items()))
    return (f'<section id="metadata"><h2>Run metadata</h2><table>{body}</table>'
            f'<p class="mono">config: {cfg}</p></section>')

"""Report sections: layer-wise probes with control tasks and the no-op check; hardening
before/after (present only in the re-audit report of a hardened model)."""

from __future__ import annotations

from pipeline.report import svg
from pipeline.report.format import esc, num, pct
from pipeline.report.sections_core import not_run


def _ci(rate: dict) -> str:
    return f"{pct(rate['value'])} [{pct(rate['low'])}, {pct(rate['high'])}] (n={rate['n']})"


def probing(results: dict) -> str:
    p = results["stages"].get("probing")
    if not p:  # opt-in: a section only when the stage was selected
        if "probing" not in results["metadata"].get("config", {}).get("stages", []):
            return ""
        return f'<section id="probing"><h2>Layer-wise probes</h2>{not_run(results, "probing")}</section>'
    names = p["layer_names"]
    charts, rows = [], []
    for name, prop in p["properties"].items():
        x = list(range(len(prop["layers"])))
        series = []
        for i, pooling in enumerate(("cls", "mean")):
            series.append({"name": f"{pooling} task", "x": x, "color": i,
                           "y": [row[pooling]["task"]["accuracy"] for row in prop["layers"]]})
            series.append({"name": f"{pooling} control", "x": x, "color": i, "dash": True,
                           "y": [row[pooling]["control"]["accuracy"] for row in prop["layers"]]})
        charts.append(svg.line_chart(series, x_label="layer (0 = embeddings)", y_label="accuracy",
                                     title=f"probe accuracy by layer: {name}"))
        for pooling in ("cls", "mean"):
            best = prop["best_layer"][pooling]
            cell = prop["layers"][best][pooling]
            t = cell["task"]
            rows.append(f"<tr><td>{esc(name)}</td><td>{pooling}</td><td>{esc(names[best])}</td>"
                        f"<td class='n'>{pct(t['accuracy'])} [{pct(t['low'])}, {pct(t['high'])}]</td>"
                        f"<td class='n'>{pct(cell['control']['accuracy'])}</td>"
                        f"<td class='n'>{num(cell['selectivity'])}</td><td class='n'>{pct(t['majority'])}</td></tr>")
    skipped = "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in p.get("skipped", {}).items())
    noop = p.get("noop")
    noop_html = ""
    if noop:
        layers = list(range(1, len(noop["attention"]["sep"]) + 1))
        chart = svg.line_chart([{"name": f"to {k}", "x": layers, "y": noop["attention"][k], "color": i}
                                for i, k in enumerate(("sep", "cls", "other"))],
                               x_label="layer", y_label="attention mass", title="attention to [SEP] / [CLS]")
        grad = "".join(f"<tr><td>{layer}</td>" + "".join(
            f"<td class='n'>{noop['gradient'][k][layer - 1]:.3g}</td>" for k in ("sep", "cls", "other"))
            + "</tr>" for layer in layers)
        noop_html = (f"<h3>No-op check (Clark et al. 2019)</h3><p class='note'>Mean attention mass on [SEP], "
                     f"[CLS] and other tokens, and the mean |dL/dA| of the task loss with respect to those "
                     f"attention weights, on {noop['num_examples']} examples. High attention with a small "
                     f"gradient means attending there is a no-op.</p>{chart}<table><tr><th>layer</th>"
                     f"<th>|dL/dA| to [SEP]</th><th>to [CLS]</th><th>to other</th></tr>{grad}</table>")
    return (f'<section id="probing"><h2>Layer-wise probes</h2><p class="note">Cross-validated logistic '
            f"regression ({p['folds']} folds) on each layer's [CLS] vector and mean-pooled tokens, "
            f"{p['num_examples']} examples. Dashed: the control task (random class per word type, Hewitt "
            f"and Liang 2019); selectivity = task accuracy - control accuracy.</p>"
            f"<div class='charts'>{''.join(charts)}</div><table id='probing-table'><tr><th>property</th>"
            f"<th>vector</th><th>best layer</th><th>accuracy [95% CI]</th><th>control</th>"
            f"<th>selectivity</th><th>majority</th></tr>{''.join(rows)}</table>"
            f"{f'<ul>{skipped}</ul>' if skipped else ''}{noop_html}</section>")


def _drop(m: dict) -> str:
    return f"{pct(m['drop'])} [{pct(m['drop_low'])}, {pct(m['drop_high'])}]"


def _trigger_rows(rows: list[dict], tag: str) -> str:
    out = []
    for r in rows:
        label = r.get(tag)
        if r.get("used_for_training") is False:
            label = f"{label} (not trained on)"
        for cb, ca in zip(r["before"]["per_class"], r["after"]["per_class"], strict=True):
            out.append(f"<tr><td><b>{esc(' '.join(r['tokens']))}</b></td><td>{esc(label)}</td>"
                       f"<td>{esc(cb['label'])} (n={cb['n']})</td><td class='n'>{_drop(cb)}</td>"
                       f"<td class='n'>{_drop(ca)}</td></tr>")
    return "".join(out)


def hardening(results: dict) -> str:
    h = results.get("hardening")
    if not h:
        return ""
    head = "<tr><th>trigger</th><th>{}</th><th>class</th><th>drop before [95% CI]</th><th>drop after</th></tr>"
    clean = "".join(
        f"<tr><td>{esc(b['label'])}</td><td class='n'>{_ci(b)}</td><td class='n'>{_ci(a)}</td></tr>"
        for b, a in zip(h["clean"]["before"]["per_class"], h["clean"]["after"]["per_class"], strict=True))
    ob, oa = h["clean"]["before"]["overall"], h["clean"]["after"]["overall"]
    parts = [f'<section id="hardening"><h2>Hardening: before and after</h2><p class="note">The model in '
             f"{esc(h['source_model']['path'])} was fine-tuned for {h['config']['steps']} steps on "
             f"{h['train']['rows']} training rows plus {h['train']['augmented_rows']} copies carrying the "
             f"audit's spurious and counter-evidence triggers (gold label kept). Drops are measured on the "
             f"audit's evaluation slice ({h['audit']['n_eval']} rows); intervals are Newcombe's (conservative)."
             f"</p><h3>Clean accuracy</h3><table><tr><th>class</th><th>before</th><th>after</th></tr>"
             f"<tr><td><b>all</b></td><td class='n'>{_ci(ob)}</td><td class='n'>{_ci(oa)}</td></tr>{clean}</table>",
             f"<h3>Old triggers (mined before hardening)</h3><table>{head.format('kind')}"
             f"{_trigger_rows(h['old_triggers'], 'kind')}</table>",
             "<h3>New triggers (mined anew on the hardened model)</h3>"]
    if h["new_triggers"]:
        parts.append(f"<table>{head.format('mined on')}{_trigger_rows(h['new_triggers'], 'mined_on')}</table>")
    else:
        parts.append(f"<p class='not-run'>The re-audit mined no trigger: {esc(h.get('new_triggers_note'))}</p>")
    if h.get("universal"):
        parts.append(f"<h3>Universal trigger (HotFlip, searched against each model)</h3><table>"
                     f"{head.format('searched on')}{_trigger_rows(h['universal']['triggers'], 'searched_on')}</table>")
    skipped = h["budget"]["skipped_for_budget"]
    if skipped:
        parts.append(f"<p class='not-run'>Skipped for the time budget: {esc(', '.join(skipped))}.</p>")
    parts.append("</section>")
    return "".join(parts)

"""The report's first card: the vulnerability verdict (attacks.verdict), and the kinds table.

A drop counts as a vulnerability only for spurious / counter-evidence triggers whose paired 95%
interval excludes 0; label-bearing triggers (the edit changes the true label) are listed apart.
"""

from __future__ import annotations

from pipeline.report.format import esc, pct, pp

KIND_HELP = {
    "spurious": "the edit keeps the label and the words carry none: a shortcut",
    "counter-evidence": "pushes against its own words' meaning (e.g. a misread negation)",
    "label-bearing": "the edit changes the true label: the model is right to change its answer",
}


def _evidence_text(v: dict) -> str:
    ev = v.get("evidence") or {}
    parts = []
    a = ev.get("association")
    if a:
        parts.append(f"label association of each trigger word (log-odds with an informative Dirichlet prior, "
                     f"Monroe et al. 2008) in {esc(a.get('source'))} ({a.get('num_examples')} rows; "
                     f"bearing = log-odds &ge; {a.get('min_log_odds')} and z &ge; {a.get('min_z')})")
    judges = ev.get("judges") or []
    for j in judges:
        extra = ""
        if j.get("vader"):
            extra = " with VADER (Hutto &amp; Gilbert 2014)"
        if j.get("model"):
            extra = f" {esc(j['model'])}"
        parts.append(f"{esc(j['name'])} judge{extra}")
    if not judges:
        parts.append("no judge: a shortcut present in the data cannot be told from a real label word")
    return "; ".join(parts) if parts else "no evidence (no reference data, no judge)"


def verdict(results: dict) -> str:
    t = results["stages"].get("triggers")
    v = (t or {}).get("verdict")
    if not v:
        return ""
    rows = []
    for e in v["per_class"]:
        w = e.get("worst")
        if not w:
            rows.append(f"<tr><th>{esc(e['label'])}</th><td colspan='6'>no spurious or counter-evidence "
                        "trigger measured</td></tr>")
            continue
        lo, hi = w["drop_ci95"]
        status = ("<b class='bad'>vulnerability</b>" if w["is_vulnerability"] else
                  "not a vulnerability (95% interval includes 0)")
        rows.append(f"<tr><th>{esc(e['label'])}</th><td>&ldquo;{esc(w['trigger'])}&rdquo;</td>"
                    f"<td>{esc(w['kind'])}</td><td class='n'>{pp(w['drop'])} [{pp(hi)}, {pp(lo)}]</td>"
                    f"<td class='n'>{pct(w['success_rate'])}</td><td class='n'>{w['n']}</td>"
                    f"<td>{status}</td></tr>")
    counts = ", ".join(f"{n} {esc(k)}" for k, n in v["counts"].items())
    return (f'<section id="verdict"><h2>Vulnerability verdict</h2>'
            f'<div class="card" id="card-verdict"><div class="big">{esc(v["headline"])}</div>'
            f"<div>Triggers by kind: {counts}. Evidence: {_evidence_text(v)}.</div></div>"
            f"<table id='verdict-table'><tr><th>class</th><th>worst trigger</th><th>kind</th>"
            f"<th>accuracy change [95% CI]</th><th>success rate</th><th>n</th><th></th></tr>{''.join(rows)}</table>"
            f"<p class='note'>{esc(v['rule'])}. Kinds: "
            + "; ".join(f"<b>{esc(k)}</b>: {esc(h)}" for k, h in KIND_HELP.items()) + ".</p></section>")


def kinds_table(results: dict) -> str:
    """Label-bearing triggers in their own table: measured, never hidden."""
    t = results["stages"].get("triggers") or {}
    listed = t.get("label_bearing") or []
    if not listed:
        return ""
    labels = t["labels"]
    rows = []
    for tr in listed:
        per = {r["label"]: r for r in tr["per_class"]}
        cells = "".join(f"<td class='n'>{pp(per[lab]['drop']) if lab in per else 'n/a'}</td>" for lab in labels)
        rows.append(f"<tr><td><b>{esc(' '.join(tr['tokens']))}</b></td><td>{esc(tr.get('kind'))}</td>"
                    f"<td>{esc(tr.get('measured_push'))}</td>{cells}</tr>")
    head = "".join(f"<th>{esc(lab)} accuracy change</th>" for lab in labels)
    return (f"<h3>Set apart before ranking: label-bearing candidates</h3><p class='note'>Their words carry the "
            f"label they push toward, so the audit ranked the other candidates by damage; they are still "
            f"measured here (kind as measured on the evaluation slice).</p><table id='label-bearing-table'>"
            f"<tr><th>trigger</th><th>kind</th><th>pushes toward (measured)</th>{head}</tr>{''.join(rows)}</table>")

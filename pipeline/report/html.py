"""Render the JSON twin as one self-contained HTML page (styles, script and data inlined)."""

from __future__ import annotations

import json
from importlib import resources

from pipeline.report import (
    sections_attacks,
    sections_core,
    sections_counterfactual,
    sections_probing,
    sections_verdict,
)
from pipeline.report.format import esc

SECTIONS = [
    ("verdict", "Verdict", sections_verdict.verdict),
    ("summary", "Summary", sections_core.summary),
    ("hardening", "Hardening", sections_probing.hardening),
    ("clean", "Clean evaluation", sections_core.clean_eval),
    ("attribution", "Attribution", sections_core.attribution),
    ("heads", "Heads", sections_core.heads),
    ("triggers", "Triggers", sections_attacks.triggers),
    ("explainers", "Explainers", sections_attacks.explainers),
    ("counterfactual", "Is attention explanation?", sections_counterfactual.counterfactual),
    ("probing", "Probes", sections_probing.probing),
    ("metadata", "Metadata", sections_core.metadata),
]


def _static(name: str) -> str:
    return resources.files("pipeline.report").joinpath("static", name).read_text(encoding="utf-8")


def render_html(results: dict) -> str:
    """The report page. Makes no network request: no external URL appears anywhere in it."""
    model = results["metadata"]["model"]
    title = f"attaudit report: {model['path'].rstrip('/').split('/')[-1]}"
    data = json.dumps(results, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    parts = [(sid, name, fn(results)) for sid, name, fn in SECTIONS]
    # a section may render nothing (opt-in stage not selected, no hardening): no link to it
    toc = "".join(f'<a href="#{sid}">{esc(name)}</a>' for sid, name, html in parts if html)
    body = "".join(html for _, _, html in parts)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>{_static('report.css')}</style></head><body>"
        f'<header class="top"><h1>{esc(title)}</h1><p>model {esc(model["sha256"][:12])} &middot; '
        f'dataset {esc(results["metadata"]["dataset"]["sha256"][:12])} &middot; '
        f'{esc(results["metadata"]["created"])}</p></header><nav class="toc">{toc}</nav><main>{body}</main>'
        f'<script type="application/json" id="attaudit-data">{data}</script>'
        f"<script>{_static('report.js')}</script></body></html>\n"
    )

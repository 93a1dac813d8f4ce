"""Reports at real sizes: bounded whatever T is, dense tensors only in a safetensors sidecar,
truncation counted."""

from __future__ import annotations

import json

import pytest

from tests.pipeline.conftest import small_config
from tests.tiny_data import write_tsv  # noqa: F401

WORDS = "the movie was good but the plot was very boring and the acting was bad".split()


def _tsv(path, length: int, rows: int = 6):
    lines = ["sentence\tlabel"]
    for r in range(rows):
        words = [WORDS[(r + i) % len(WORDS)] for i in range(length)]
        lines.append(" ".join(words) + f"\t{r % 2}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def long_model(tmp_path_factory):
    from tests.tiny_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_long"), arch="bert", max_positions=512,
                            seed=3, init_std=0.2)


def _attribution_report(model, data, work, **kw):
    from pipeline import AuditRun

    cfg = small_config(stages=["attribution"], examples=2, allow_overlap=True, steps=3, **kw)
    run = AuditRun(model, data, cfg, work)
    run.run_all()
    paths = run.write_report(work / "out")
    return run, paths, json.loads(paths["report.json"].read_text())


def test_report_size_does_not_grow_as_t_squared(long_model, tmp_path):
    sizes = {}
    for T in (16, 128, 400):
        _, paths, twin = _attribution_report(long_model, _tsv(tmp_path / f"d{T}.tsv", T),
                                             tmp_path / f"w{T}", heatmap_tokens=12)
        ex = twin["stages"]["attribution"]["examples"]
        assert len(ex[0]["tokens"]) >= min(T, 400)
        hm = ex[0]["heatmap"]
        assert len(hm["index"]) == 12 and len(hm["scores"][0][0]) == 12  # top-k, never T x T
        assert "scores" not in ex[0] and twin["stages"]["attribution"]["tensors"] is None
        sizes[T] = (paths["report.json"].stat().st_size, paths["report.html"].stat().st_size)
    # The stated bound: per example O(L (H + 1) k^2 + L (3 + 2H) + 2 L T) numbers, linear in T.
    # From T = 128 to T = 400 (x3.1 tokens, x9.8 cells) the files grow far less than T^2 would.
    for i in (0, 1):
        assert sizes[400][i] < 2.5 * sizes[128][i]
        assert sizes[400][i] < 400_000


def test_dense_tensors_round_trip_through_the_sidecar(long_model, tmp_path):
    from safetensors.torch import load_file

    from attribution.attention_attribution import AttentionAttribution
    from attribution.model_loading import load_classifier
    from attribution.tensor_sidecar import load_attributions

    data = _tsv(tmp_path / "d.tsv", 40)
    run, paths, twin = _attribution_report(long_model, data, tmp_path / "w", dense_tensors=True)
    meta = twin["stages"]["attribution"]["tensors"]
    side = paths["attribution_tensors.safetensors"]
    assert meta["file"] == side.name and side.stat().st_size == meta["bytes"]
    raw = load_file(str(side))  # plain safetensors, no attaudit code needed
    scores, tokens = load_attributions(side)
    exs = run.slices()["eval"][:2]
    direct = AttentionAttribution(load_classifier(long_model)).attribute(exs, steps=3)
    for i, r in enumerate(direct):
        assert raw[f"example_{i:04d}.scores"].shape == r.scores.shape
        assert (scores[i] == r.scores).all() and tokens[i] == list(r.tokens)
        assert tokens[i] == twin["stages"]["attribution"]["examples"][i]["tokens"]


def test_truncation_is_reported(long_model, tmp_path):
    data = _tsv(tmp_path / "d.tsv", 700, rows=4)
    _, _, twin = _attribution_report(long_model, data, tmp_path / "w", truncation="tail")
    trunc = twin["metadata"]["dataset"]["truncation"]
    assert trunc["side"] == "tail" and trunc["max_length"] == 512
    assert trunc["examples"] == 4 and trunc["truncated"] == 4
    assert trunc["tokens_lost"] >= 4 * (700 - 510) and trunc["longest_input"] >= 702
    tokens = twin["stages"]["attribution"]["examples"][0]["tokens"]
    assert len(tokens) <= 512

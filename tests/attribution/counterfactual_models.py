"""Tiny BERTs whose attention matters, or not, by construction (for the counterfactual tests).

One layer, two heads of size 8, hidden 16, FFN zeroed (it adds nothing), pooler the identity:

* ``linked``: position 1 carries a feature on hidden dim 0 (word and type embeddings are zero
  there); head 0's [CLS] query scores keys by that feature, so it attends to position 1 with
  weight ~1; head 0's value is the feature and the output projection writes it to dim 1, which
  the classifier reads. The prediction depends on the one link [CLS] -> position 1 of head 0.
  Head 1 attends uniformly and has zero value and output weights: it is irrelevant.
* ``irrelevant``: the same with every value weight zero and a constant value bias, so every
  token's value is identical and no attention map can change the output.
* ``uniform``: query and key weights and biases zeroed, so attention is exactly uniform over the
  real tokens.
"""

from __future__ import annotations

from pathlib import Path

from tests.tiny_models import build_tiny_model


def build_counterfactual_model(out: Path, kind: str) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification

    path = build_tiny_model(out, arch="bert", layers=1, heads=2, hidden=16, seed=5, init_std=0.3)
    model = AutoModelForSequenceClassification.from_pretrained(path)
    sd = model.state_dict()
    with torch.no_grad():
        emb = "bert.embeddings."
        sd[emb + "word_embeddings.weight"][:, :2] = 0.0
        sd[emb + "token_type_embeddings.weight"].zero_()
        sd[emb + "position_embeddings.weight"][:, :2] = 0.0
        sd[emb + "position_embeddings.weight"][1, 0] = 12.0
        att = "bert.encoder.layer.0.attention."
        for name in ("query", "key", "value"):
            sd[att + f"self.{name}.weight"].zero_()
            sd[att + f"self.{name}.bias"].zero_()
        if kind in ("linked", "irrelevant"):
            sd[att + "self.query.bias"][:8] = 1.0  # head 0: the same query for every token
            sd[att + "self.key.weight"][:8, 0] = 3.0  # keys read the position-1 feature
        if kind == "linked":
            sd[att + "self.value.weight"][:8, 0] = 1.0  # head 0's value is the feature
        elif kind == "irrelevant":
            sd[att + "self.value.bias"][:] = 0.7  # every token has the same value
        elif kind != "uniform":
            raise ValueError(kind)
        sd[att + "output.dense.weight"].zero_()
        sd[att + "output.dense.bias"].zero_()
        sd[att + "output.dense.weight"][1, 0] = 1.0  # head 0's value -> hidden dim 1
        ffn = "bert.encoder.layer.0."
        for name in ("intermediate.dense", "output.dense"):
            sd[ffn + name + ".weight"].zero_()
            sd[ffn + name + ".bias"].zero_()
        sd["bert.pooler.dense.weight"].copy_(torch.eye(16) * 0.5)
        sd["bert.pooler.dense.bias"].zero_()
        sd["classifier.weight"].zero_()
        sd["classifier.weight"][1, 1] = 6.0
        sd["classifier.bias"][:] = torch.tensor([0.0, -4.5])  # class 1 only with the link
    model.load_state_dict(sd)
    model.save_pretrained(path, safe_serialization=True)
    return path

"""Known encoder layers written out where AttAttr can skip work: the top layer for token 0
only, and the scaled layer from given attention probabilities.

Every supported sequence classifier reads only token 0 of the last layer's output: BERT's pooler
(``hidden[:, 0]``), the RoBERTa / XLM-R / ELECTRA classification heads (``features[:, 0]``) and
DistilBERT (``hidden_state[:, 0]``). In the last layer, therefore, only query row 0 matters:
keys and values are needed for every token, but the query, the attention row, the output
projection and the feed-forward block only for token 0. This cuts the top layer's cost by
roughly the sequence length and changes nothing numerically (the other rows never reach the
logits, so their attribution is exactly zero). Heads we do not recognise return ``None`` from
``token0_head`` and callers keep the full computation.

In the scaled layer l the probabilities are given (alpha * A), so its query and key projections
are never needed and its value projection depends only on the example, not on alpha:
``scaled_layer_output`` takes the values computed once per example and runs the attention
product, output projection and feed-forward block per row. Also exact.

The layer's own submodules (projections, LayerNorms, feed-forward) are called; only the
scaled-dot-product of row 0 is written out here, as the models' eager attention computes it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

_BERT_LIKE = {
    "BertForSequenceClassification": "bert",
    "RobertaForSequenceClassification": "roberta",
    "XLMRobertaForSequenceClassification": "roberta",
    "ElectraForSequenceClassification": "roberta",
    "DistilBertForSequenceClassification": "distilbert",
}

ProbsHook = Callable[[Tensor], Tensor]  # (R, H, 1, T) -> (R, H, 1, T)


def _encoder_layers(model: nn.Module) -> nn.ModuleList:
    base = model._modules[model.base_model_prefix]
    key = "transformer" if "transformer" in base._modules else "encoder"
    return base._modules[key].layer


def token0_head(model: nn.Module) -> str | None:
    """The head family ("bert" | "roberta" | "distilbert") if ``model`` reads only token 0 of
    its last layer through a head we know, else ``None`` (use the full computation).

    DeBERTa-v2/v3 and ModernBERT get ``None`` and AttAttr's full path (the layer tail is still
    shared below layer l; only this token-0 rewrite is skipped), because the rewrite would not
    be exact or would not apply: DeBERTa's row-0 scores need its content-to-position and
    position-to-content relative terms (log-bucketed positions, shared or separate positional
    projections) written out again here, a second copy of the model's attention to keep in
    step; ModernBERT's ``classifier_pooling="mean"`` reads every row of the last layer, and its
    row 0 would need RoPE and the sliding-window mask written out. Tests compare the full path
    with the model's own forward at every alpha (tests/attribution/test_attattr_modern.py).
    """
    family = _BERT_LIKE.get(type(model).__name__)
    cfg = model.config
    if family is None or getattr(cfg, "is_decoder", False):
        return None
    if getattr(cfg, "position_embedding_type", "absolute") not in (None, "absolute"):
        return None  # relative position scores would have to be written out here too
    return family


def _row0_attention(q0: Tensor, k: Tensor, v: Tensor, mask: Tensor, hook: ProbsHook) -> Tensor:
    """Context of query row 0: q0 (R, H, 1, d), k and v (R, H, T, d), mask (R, T) -> (R, 1, H*d)."""
    scores = torch.matmul(q0, k.transpose(-1, -2)) * q0.shape[-1] ** -0.5  # (R, H, 1, T)
    keep = mask[:, None, None, :].bool()  # (R, 1, 1, T)
    scores = scores.masked_fill(~keep, torch.finfo(scores.dtype).min)
    probs = hook(torch.softmax(scores, dim=-1))  # (R, H, 1, T)
    ctx = torch.matmul(probs, v)  # (R, H, 1, d)
    return ctx.transpose(1, 2).reshape(ctx.shape[0], 1, -1)  # (R, 1, H*d)


def _split(x: Tensor, d: int) -> Tensor:
    return x.view(x.shape[0], x.shape[1], -1, d).transpose(1, 2)  # (R, H, T, d)


def last_layer_token0(model: nn.Module, family: str, hidden: Tensor, mask: Tensor,
                      hook: ProbsHook) -> Tensor:
    """Output (R, 1, D) of the last encoder layer at token 0, given its input ``hidden``
    (R, T, D) and ``mask`` (R, T) of real tokens; ``hook`` sees (and may replace) the
    attention row 0 of every head (R, H, 1, T)."""
    layer = _encoder_layers(model)[-1]
    first = hidden[:, :1]  # (R, 1, D)
    if family == "distilbert":
        att = layer.attention
        d = model.config.dim // model.config.n_heads
        ctx = _row0_attention(_split(att.q_lin(first), d), _split(att.k_lin(hidden), d),
                              _split(att.v_lin(hidden), d), mask, hook)
        sa = layer.sa_layer_norm(att.out_lin(ctx) + first)
        return layer.output_layer_norm(layer.ffn(sa) + sa)
    sa_mod = layer.attention.self
    d = sa_mod.attention_head_size
    ctx = _row0_attention(_split(sa_mod.query(first), d), _split(sa_mod.key(hidden), d),
                          _split(sa_mod.value(hidden), d), mask, hook)
    att_out = layer.attention.output(ctx, first)
    return layer.output(layer.intermediate(att_out), att_out)


def head_logits(model: nn.Module, family: str, top: Tensor) -> Tensor:
    """Logits (R, C) of the classification head applied to the last layer's token 0 ``top``
    (R, 1, D); eval mode (dropout inactive), as everywhere in attribution."""
    if family == "bert":
        return model.classifier(model.dropout(model.bert.pooler(top)))
    if family == "distilbert":
        x = torch.relu(model.pre_classifier(top[:, 0]))
        return model.classifier(model.dropout(x))
    return model.classifier(top)


def layer_values(model: nn.Module, family: str, layer: int, hidden: Tensor) -> Tensor:
    """Values (U, H, T, d) of encoder layer ``layer`` for its inputs ``hidden`` (U, T, D)."""
    mod = _encoder_layers(model)[layer]
    if family == "distilbert":
        return _split(mod.attention.v_lin(hidden), model.config.dim // model.config.n_heads)
    sa_mod = mod.attention.self
    return _split(sa_mod.value(hidden), sa_mod.attention_head_size)


def scaled_layer_output(model: nn.Module, family: str, layer: int, hidden: Tensor,
                        values: Tensor, probs: Tensor) -> Tensor:
    """Output (R, T, D) of encoder layer ``layer`` whose attention probabilities are ``probs``
    (R, H, T, T, already through the intervention), inputs ``hidden`` (R, T, D) and values
    ``values`` (R, H, T, d) from ``layer_values``."""
    mod = _encoder_layers(model)[layer]
    ctx = torch.matmul(probs, values)  # (R, H, T, d)
    ctx = ctx.transpose(1, 2).reshape(hidden.shape[0], hidden.shape[1], -1)  # (R, T, H*d)
    if family == "distilbert":
        sa = mod.sa_layer_norm(mod.attention.out_lin(ctx) + hidden)
        return mod.output_layer_norm(mod.ffn(sa) + sa)
    att_out = mod.attention.output(ctx, hidden)
    return mod.output(mod.intermediate(att_out), att_out)

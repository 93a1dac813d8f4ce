"""LRP-based transformer relevance (Chefer et al. CVPR 2021, "Transformer Interpretability
Beyond Attention Visualization", https://arxiv.org/abs/2012.09838), BERT family.

A functional re-run of the encoder records every activation; relevance starts as the one-hot
target at the logits and is propagated down: the positive-contribution rule (LRP alpha=1,
beta=0, biases excluded) through linear layers, the normalised two-tensor rule (paper Eq. 11)
through skip connections and both attention matmuls (QK^T and AV), identity through
LayerNorm, activations, softmax and scaling, and summed over the Q/K/V/skip copies of a
layer's input. Each layer's attention relevance R_A is weighted by the target logit's
attention gradient: ``Abar = mean_h((grad * R_A)^+)``; the map is the [CLS] row of
``prod_l (I + Abar_l)`` (rows not renormalised, as in the authors' BERT code).

Supported: bert, roberta, xlm-roberta, electra (``encoder.layer[*].attention.self``);
DistilBERT raises ``ModelLoadError``. Departure: the authors' code applies the normalised rule
only to additions; the paper (and we) apply it to the attention matmuls too.
"""

from __future__ import annotations

import math

import torch

from attribution.errors import ModelLoadError
from attribution.explainers.base import Explainer

EPS = 1e-9


def safe_divide(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    den = b.clamp(min=EPS) + b.clamp(max=EPS)
    den = den + den.eq(0).to(den.dtype) * EPS
    return a / den * b.ne(0).to(a.dtype)


def linear_relprop(x: torch.Tensor, weight: torch.Tensor, rel: torch.Tensor) -> torch.Tensor:
    """alpha=1, beta=0 rule for y = x W^T: positive contributions px*W+ and nx*W-."""
    px, nx = x.clamp(min=0), x.clamp(max=0)
    pw, nw = weight.clamp(min=0), weight.clamp(max=0)
    s = safe_divide(rel, px @ pw.T + nx @ nw.T)
    return px * (s @ pw) + nx * (s @ nw)


def _normalise(ra: torch.Tensor, rb: torch.Tensor, total: torch.Tensor):
    a_sum, b_sum = ra.sum(), rb.sum()
    a_fact = safe_divide(a_sum.abs(), a_sum.abs() + b_sum.abs()) * total
    b_fact = safe_divide(b_sum.abs(), a_sum.abs() + b_sum.abs()) * total
    return ra * safe_divide(a_fact, ra.sum()), rb * safe_divide(b_fact, rb.sum())


def add_relprop(a: torch.Tensor, b: torch.Tensor, rel: torch.Tensor):
    s = safe_divide(rel, a + b)
    return _normalise(a * s, b * s, rel.sum())


def matmul_relprop(a: torch.Tensor, b: torch.Tensor, rel: torch.Tensor):
    """Z = a @ b (batched over leading dims)."""
    s = safe_divide(rel, a @ b)
    return _normalise(a * (s @ b.transpose(-1, -2)), b * (a.transpose(-1, -2) @ s), rel.sum())


def _head_parts(model):
    mt = model.config.model_type
    base = model.base_model
    if mt == "bert":
        return base, [(model.bert.pooler.dense, torch.tanh), (model.classifier, None)]
    if mt in ("roberta", "xlm-roberta"):
        return base, [(model.classifier.dense, torch.tanh), (model.classifier.out_proj, None)]
    if mt == "electra":
        act = getattr(model.classifier, "activation", torch.nn.functional.gelu)
        return base, [(model.classifier.dense, act), (model.classifier.out_proj, None)]
    raise ModelLoadError(
        f"LRP relevance supports bert, roberta, xlm-roberta, electra; not {mt!r}: its propagation "
        "rules are written for the BERT family's attention, LayerNorm and pooler (DeBERTa's "
        "relative terms, ModernBERT's RoPE / GLU / mean pooling have none here)"
    )


class LRPRelevance(Explainer):
    name = "lrp"

    def __init__(self, loaded) -> None:
        super().__init__(loaded)
        self.base, self.head = _head_parts(loaded.model)

    def forward_record(self, enc):
        """Functional forward (batch of one, no padding) keeping what the relprop needs."""
        hidden = self.base.embeddings(input_ids=enc["input_ids"],
                                      token_type_ids=enc.get("token_type_ids"))[0]  # (T, E)
        if hasattr(self.base, "embeddings_project"):  # ELECTRA with embedding_size != hidden
            hidden = self.base.embeddings_project(hidden)  # (T, D)
        records = []
        for layer in self.base.encoder.layer:
            sa, so = layer.attention.self, layer.attention.output
            heads, d = sa.num_attention_heads, sa.attention_head_size
            x = hidden
            q, k, v = (m(x).view(-1, heads, d).transpose(0, 1) for m in (sa.query, sa.key, sa.value))  # (H, T, d)
            scores = q @ k.transpose(-1, -2) / math.sqrt(d)  # (H, T, T)
            attn = torch.softmax(scores, -1)
            ctx = (attn @ v).transpose(0, 1).reshape(x.shape[0], heads * d)  # (T, H*d)
            a_out = so.dense(ctx)
            h1 = so.LayerNorm(a_out + x)
            pre = layer.intermediate.dense(h1)
            inter = layer.intermediate.intermediate_act_fn(pre)
            out = layer.output.dense(inter)
            hidden = layer.output.LayerNorm(out + h1)
            records.append(dict(x=x, q=q, k=k, v=v, attn=attn, ctx=ctx, a_out=a_out, h1=h1,
                                inter=inter, out=out, heads=heads, d=d, layer=layer))
        z = hidden[0]
        head_inputs = []
        for lin, act in self.head:
            head_inputs.append(z)
            z = lin(z)
            if act is not None:
                z = act(z)
        return z, records, head_inputs  # z: logits (C,)

    def relevance(self, enc, target: int):
        """Per-layer (attention relevance, attention gradient), each (L, H, T, T)."""
        with torch.enable_grad():
            logits, records, head_inputs = self.forward_record(enc)
            grads = torch.autograd.grad(logits[target], [r["attn"] for r in records])
        with torch.no_grad():
            rel = torch.zeros_like(logits)
            rel[target] = 1.0
            for (lin, _), z in zip(reversed(self.head), reversed(head_inputs), strict=True):
                rel = linear_relprop(z[None], lin.weight, rel[None])[0]
            seq = records[0]["x"].shape[0]
            r_hidden = torch.zeros(seq, rel.shape[0], dtype=rel.dtype)
            r_hidden[0] = rel
            cams = []
            for rec in reversed(records):
                lay = rec["layer"]
                r_out, r_h1 = add_relprop(rec["out"], rec["h1"], r_hidden)
                r_inter = linear_relprop(rec["inter"], lay.output.dense.weight, r_out)
                r_h1 = r_h1 + linear_relprop(rec["h1"], lay.intermediate.dense.weight, r_inter)
                r_aout, r_x = add_relprop(rec["a_out"], rec["x"], r_h1)
                r_ctx = linear_relprop(rec["ctx"], lay.attention.output.dense.weight, r_aout)
                r_ctx = r_ctx.view(seq, rec["heads"], rec["d"]).transpose(0, 1)  # (H, T, d)
                r_attn, r_v = matmul_relprop(rec["attn"], rec["v"], r_ctx)
                cams.append(r_attn)
                r_q, r_kt = matmul_relprop(rec["q"], rec["k"].transpose(-1, -2), r_attn)
                sa = lay.attention.self
                for r_part, lin in ((r_q, sa.query), (r_kt.transpose(-1, -2), sa.key), (r_v, sa.value)):
                    flat = r_part.transpose(0, 1).reshape(seq, -1)  # (T, H*d)
                    r_x = r_x + linear_relprop(rec["x"], lin.weight, flat)
                r_hidden = r_x
        cams = torch.stack(cams[::-1])  # (L, H, T, T), bottom layer first
        return cams.float().cpu(), torch.stack([g.detach() for g in grads]).float().cpu()

    def token_scores(self, enc, target: int, *, example=None) -> torch.Tensor:
        cams, grads = self.relevance(enc, target)
        seq = cams.shape[-1]
        joint = torch.eye(seq, dtype=torch.float64)
        for layer in range(cams.shape[0]):
            abar = (grads[layer] * cams[layer]).clamp(min=0).mean(0).double()  # (T, T)
            joint = (abar + torch.eye(seq, dtype=torch.float64)) @ joint
        return joint[0].float()

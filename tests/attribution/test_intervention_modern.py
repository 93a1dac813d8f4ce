"""The intervention point on DeBERTa-v2/v3 and ModernBERT (transformers 4.x and 5.x).

Every reference here is the model's own computation or a hand-computed one: the model's own
eager forward (no intervention open), the head's slice of the output projection's input zeroed
by a pre-hook, the unpadded example run alone, the sliding window written out from the config.
"""

from __future__ import annotations

import pytest
import torch

from attribution.data import Example, encode
from attribution.intervention import ATTN_NAME, AttentionIntervention
from tests.attribution.conftest import MODERN_MODELS

NAMES = tuple(MODERN_MODELS)
EXAMPLES = [Example("the movie was good"),
            Example("a cat sat on the mat , really nice fun and the dog ran home . very good")]
PAIRS = [Example("the cat sat on the mat", pair="a cat sat"),
         Example("the movie was good", pair="it was a very bad film , boring and too long")]


def _run(lc, enc):
    with torch.no_grad():
        return lc.model(**enc).logits


def _out_proj(lc, layer: int) -> torch.nn.Linear:
    """The linear layer whose input is the concatenation of the heads' outputs."""
    if lc.architecture == "modernbert":
        return lc.model.base_model.layers[layer].attn.Wo
    return lc.model.base_model.encoder.layer[layer].attention.output.dense


def test_loaded_through_the_real_loader(modern_loaded):
    assert {lc.architecture for lc in modern_loaded.values()} == {"deberta-v2", "modernbert"}
    for lc in modern_loaded.values():
        assert lc.model.config._attn_implementation == "eager"  # nothing left switched
        assert len(lc.sha256) == 64


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("examples", [EXAMPLES, PAIRS], ids=["single", "pair"])
def test_alpha_one_reproduces_the_models_logits(modern_loaded, name, examples):
    lc = modern_loaded[name]
    iv = AttentionIntervention(lc.model)
    enc = encode(lc.tokenizer, examples, lc.device)
    plain = _run(lc, enc)  # the model's own eager forward
    B, T = enc["input_ids"].shape
    with iv.capture() as cap:
        assert torch.equal(_run(lc, enc), plain)
    real = enc["attention_mask"].bool()
    for probs in cap.probs:
        assert probs.shape == (B, lc.num_heads, T, T)
        torch.testing.assert_close(probs.sum(-1), torch.ones(B, lc.num_heads, T))
        # real query rows give padded keys exactly nothing
        to_pad = probs.masked_select(real[:, None, :, None] & ~real[:, None, None, :])
        assert torch.all(to_pad == 0)
    for layer in range(lc.num_layers):
        with iv.override(layer, lambda a: a):
            assert torch.equal(_run(lc, enc), plain)
        with iv.scale(layer, torch.ones(B)):
            torch.testing.assert_close(_run(lc, enc), plain, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_scale_is_per_row_and_changes_the_output(modern_loaded, name):
    lc = modern_loaded[name]
    iv = AttentionIntervention(lc.model)
    enc = encode(lc.tokenizer, EXAMPLES, lc.device)
    top = lc.num_layers - 1
    with iv.override(top, torch.zeros_like):
        zero = _run(lc, enc)
    plain = _run(lc, enc)
    assert (zero - plain).abs().max() > 1e-3
    with iv.scale(top, torch.tensor([0.0, 1.0])), iv.capture() as cap:
        mixed = _run(lc, enc)
    torch.testing.assert_close(mixed[0], zero[0])
    torch.testing.assert_close(mixed[1], plain[1])
    assert torch.all(cap.probs[top][0] == 0)


@pytest.mark.parametrize("name", NAMES)
def test_masking_a_head_equals_zeroing_its_output(modern_loaded, name):
    lc = modern_loaded[name]
    iv = AttentionIntervention(lc.model)
    enc = encode(lc.tokenizer, PAIRS, lc.device)
    d = lc.model.config.hidden_size // lc.num_heads
    plain = _run(lc, enc)
    for layer, head in [(0, 1), (lc.num_layers - 1, 0)]:
        mask = torch.ones(lc.num_layers, lc.num_heads)
        mask[layer, head] = 0.0

        def zero_slice(_module, args, h=head):
            x = args[0].clone()
            x[..., h * d:(h + 1) * d] = 0.0  # that head's output, by hand
            return (x,) + tuple(args[1:])

        handle = _out_proj(lc, layer).register_forward_pre_hook(zero_slice)
        try:
            ref = _run(lc, enc)
        finally:
            handle.remove()
        with iv.head_mask(mask):
            ours = _run(lc, enc)
        assert (ref - plain).abs().max() > 1e-4  # the head matters
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("examples", [EXAMPLES, PAIRS], ids=["single", "pair"])
def test_padding_changes_no_examples_scores(modern_loaded, name, examples):
    """Each example batched with longer ones scores as the model scores it alone (unpadded),
    with no intervention, under alpha-scaling, and with a masked head."""
    lc = modern_loaded[name]
    iv = AttentionIntervention(lc.model)
    short = [Example("good fun", pair="fun" if examples[0].pair else None)]
    batch = encode(lc.tokenizer, short + examples, lc.device)
    for i, ex in enumerate(short + examples):
        alone = encode(lc.tokenizer, [ex], lc.device)
        T = alone["input_ids"].shape[1]
        torch.testing.assert_close(_run(lc, batch)[i], _run(lc, alone)[0], rtol=0, atol=2e-6)
        alphas = torch.full((len(batch["input_ids"]),), 0.3)
        for layer in range(lc.num_layers):
            with iv.scale(layer, alphas), iv.capture() as cb:
                lb = _run(lc, batch)
            with iv.scale(layer, alphas[:1]), iv.capture() as ca:
                la = _run(lc, alone)
            torch.testing.assert_close(lb[i], la[0], rtol=0, atol=2e-6)
            for pb, pa in zip(cb.probs, ca.probs, strict=True):
                torch.testing.assert_close(pb[i, :, :T, :T], pa[0], rtol=0, atol=2e-6)
    assert batch["input_ids"].shape[1] > encode(lc.tokenizer, short, lc.device)["input_ids"].shape[1]


@pytest.mark.parametrize("name", ["modernbert", "modernbert-cls"])
def test_sliding_window_layers_attend_only_inside_the_window(modern_loaded, name):
    lc = modern_loaded[name]
    cfg = lc.model.config
    half = cfg.local_attention // 2
    iv = AttentionIntervention(lc.model)
    enc = encode(lc.tokenizer, EXAMPLES, lc.device)
    T = enc["input_ids"].shape[1]
    assert T > 2 * half + 1  # the window bites
    idx = torch.arange(T)
    outside = (idx[:, None] - idx[None, :]).abs() > half  # (T, T), written out from the config
    with iv.capture() as cap:
        _run(lc, enc)
    for layer, probs in enumerate(cap.probs):
        local = layer % cfg.global_attn_every_n_layers != 0
        row = enc["attention_mask"][1].bool()  # the long, unpadded example
        far = probs[1][:, row][:, :, row][:, outside[row][:, row]]
        if local:
            assert torch.all(far == 0), f"layer {layer} attends outside its window"
        else:
            assert far.min() > 0, f"global layer {layer} should attend everywhere"


def test_modernbert_user_setting_restored(modern_dirs):
    """A ModernBERT loaded with sdpa is switched to eager inside the intervention, back after."""
    from transformers import AutoModelForSequenceClassification

    from attribution.model_loading import load_classifier

    lc = load_classifier(modern_dirs["modernbert"])
    model = AutoModelForSequenceClassification.from_pretrained(
        modern_dirs["modernbert"], attn_implementation="sdpa").eval()
    assert model.config._attn_implementation == "sdpa"
    enc = encode(lc.tokenizer, EXAMPLES, "cpu")
    with torch.no_grad():
        sdpa = model(**enc).logits
    iv, iv2 = AttentionIntervention(model), AttentionIntervention(model)
    with iv.capture() as cap:
        assert model.config._attn_implementation == ATTN_NAME
        with iv2.capture():
            pass
        assert model.config._attn_implementation == ATTN_NAME  # still open: not restored
        with torch.no_grad():
            ours = model(**enc).logits
    assert model.config._attn_implementation == "sdpa"
    assert all(p is not None for p in cap.probs)
    torch.testing.assert_close(ours, sdpa, rtol=0, atol=1e-5)
    torch.testing.assert_close(ours, _run(lc, enc), rtol=0, atol=1e-6)


def test_modernbert_flash_path_refused_on_transformers_4(modern_dirs):
    """4.x ModernBERT built for flash attention has an unpadded rotary module: no eager path to
    switch to, so the intervention refuses it with the fix (5.x switches it like sdpa)."""
    from attribution.errors import ModelLoadError
    from attribution.model_loading import load_classifier

    lc = load_classifier(modern_dirs["modernbert"])
    if AttentionIntervention(lc.model).mode != "modernbert-table":
        pytest.skip("transformers 5.x: every ModernBERT implementation can be switched")
    lc.model.config._attn_implementation = "flash_attention_2"
    with pytest.raises(ModelLoadError, match="attn_implementation='eager'"):
        AttentionIntervention(lc.model)

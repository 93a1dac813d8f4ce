"""The attention intervention point: capture, override, scale, head mask, scoping, padding."""

from __future__ import annotations

import inspect
import threading

import pytest
import torch

from attribution.data import Example, encode
from attribution.errors import AttributionInputError
from attribution.intervention import AttentionIntervention
from tests.tiny_models import ARCHS

EXAMPLES = [Example("the movie was good"), Example("a cat sat on the mat , really nice fun")]


def _run(lc, enc):
    with torch.no_grad():
        return lc.model(**enc).logits


@pytest.mark.parametrize("arch", ARCHS)
def test_capture_every_arch(loaded, arch):
    lc = loaded[arch]
    iv = AttentionIntervention(lc.model)
    enc = encode(lc.tokenizer, EXAMPLES, lc.device)
    plain = _run(lc, enc)
    with iv.capture() as cap:
        logits = _run(lc, enc)
    assert torch.equal(logits, plain)
    B, T = enc["input_ids"].shape
    assert len(cap.probs) == lc.num_layers
    for probs in cap.probs:
        assert probs.shape == (B, lc.num_heads, T, T)
        torch.testing.assert_close(probs.sum(-1), torch.ones(B, lc.num_heads, T))
        pad_keys = enc["attention_mask"][:, None, None, :] == 0  # (B, 1, 1, T)
        assert torch.all(probs.masked_select(pad_keys) == 0)  # padding gets no attention


@pytest.mark.parametrize("arch", ARCHS)
def test_override_identity_and_scale_one_equal_plain(loaded, arch):
    lc = loaded[arch]
    iv = AttentionIntervention(lc.model)
    enc = encode(lc.tokenizer, EXAMPLES, lc.device)
    plain = _run(lc, enc)
    for layer in range(lc.num_layers):
        with iv.override(layer, lambda a: a):
            assert torch.equal(_run(lc, enc), plain)
        with iv.scale(layer, torch.ones(2)):
            torch.testing.assert_close(_run(lc, enc), plain, rtol=0, atol=1e-7)


@pytest.mark.parametrize("arch", ARCHS)
def test_scale_is_per_row(loaded, arch):
    lc = loaded[arch]
    iv = AttentionIntervention(lc.model)
    enc = encode(lc.tokenizer, EXAMPLES, lc.device)
    with iv.override(1, torch.zeros_like):
        zero = _run(lc, enc)
    plain = _run(lc, enc)
    assert not torch.allclose(zero, plain)
    with iv.scale(1, torch.tensor([0.0, 1.0])), iv.capture() as cap:
        mixed = _run(lc, enc)
    torch.testing.assert_close(mixed[0], zero[0])
    torch.testing.assert_close(mixed[1], plain[1])
    assert torch.all(cap.probs[1][0] == 0)  # capture records the probabilities actually used


def test_head_mask_equals_transformers_head_mask(loaded):
    for arch in ARCHS:
        lc = loaded[arch]
        if "head_mask" not in inspect.signature(lc.model.forward).parameters:
            pytest.skip("transformers 5 removed head_mask; compared on 4.x only")
        iv = AttentionIntervention(lc.model)
        enc = encode(lc.tokenizer, EXAMPLES, lc.device)
        for mask in (torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.tensor([[0.0, 1.0], [0.0, 0.0]])):
            with torch.no_grad():
                ref = lc.model(**enc, head_mask=mask).logits
            with iv.head_mask(mask):
                ours = _run(lc, enc)
            assert not torch.allclose(ref, _run(lc, enc))
            torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)


def test_head_mask_zero_head_changes_only_that_head(loaded):
    lc = loaded["bert"]
    iv = AttentionIntervention(lc.model)
    enc = encode(lc.tokenizer, EXAMPLES, lc.device)
    with iv.head_mask(torch.tensor([[1.0, 1.0], [0.0, 1.0]])), iv.capture() as cap:
        _run(lc, enc)
    with iv.capture() as ref:
        _run(lc, enc)
    assert torch.equal(cap.probs[0], ref.probs[0])
    assert torch.all(cap.probs[1][:, 0] == 0)
    assert torch.equal(cap.probs[1][:, 1], ref.probs[1][:, 1])


def test_hooks_removed_and_state_scoped(loaded):
    lc = loaded["bert"]
    iv = AttentionIntervention(lc.model)
    enc = encode(lc.tokenizer, EXAMPLES, lc.device)
    plain = _run(lc, enc)
    with pytest.raises(RuntimeError, match="boom"):
        with iv.override(0, torch.zeros_like):
            raise RuntimeError("boom")
    assert torch.equal(_run(lc, enc), plain)
    assert iv._active == 0 and iv._handles == []
    if iv.mode == "dropout-hook":
        assert all(not m.dropout._forward_hooks for m in iv._modules)


def test_other_threads_do_not_see_an_open_intervention(loaded):
    lc = loaded["bert"]
    iv = AttentionIntervention(lc.model)
    enc = encode(lc.tokenizer, EXAMPLES, lc.device)
    plain = _run(lc, enc)
    seen: dict[str, torch.Tensor] = {}
    with iv.head_mask(torch.zeros(2, 2)):
        masked = _run(lc, enc)
        t = threading.Thread(target=lambda: seen.setdefault("other", _run(lc, enc)))
        t.start()
        t.join()
    assert not torch.allclose(masked, plain)
    assert torch.equal(seen["other"], plain)


def test_bad_arguments(loaded):
    lc = loaded["bert"]
    iv = AttentionIntervention(lc.model)
    enc = encode(lc.tokenizer, EXAMPLES, lc.device)
    with pytest.raises(AttributionInputError, match="out of range"):
        iv.override(5, lambda a: a)
    with pytest.raises(AttributionInputError, match="head mask of shape"):
        iv.head_mask(torch.ones(3, 2))
    with pytest.raises(AttributionInputError, match="3 alphas for a batch of 2"):
        with iv.scale(0, torch.ones(3)):
            _run(lc, enc)


@pytest.mark.parametrize("arch", ARCHS)
def test_padding_invariance_of_captured_attention(loaded, arch):
    lc = loaded[arch]
    iv = AttentionIntervention(lc.model)
    short = [Example("good fun")]
    batch = encode(lc.tokenizer, short + EXAMPLES, lc.device)
    alone = encode(lc.tokenizer, short, lc.device)
    T = alone["input_ids"].shape[1]
    assert batch["input_ids"].shape[1] > T
    with iv.capture() as cb:
        lb = _run(lc, batch)
    with iv.capture() as ca:
        la = _run(lc, alone)
    torch.testing.assert_close(lb[0], la[0], rtol=0, atol=1e-6)
    for pb, pa in zip(cb.probs, ca.probs, strict=True):
        torch.testing.assert_close(pb[0, :, :T, :T], pa[0], rtol=0, atol=1e-6)


def test_intervention_does_not_keep_itself_alive(loaded):
    import gc
    import weakref

    lc = loaded["xlm-roberta"]
    ref = weakref.ref(AttentionIntervention(lc.model))
    gc.collect()
    assert ref() is None
    enc = encode(lc.tokenizer, EXAMPLES, lc.device)
    with AttentionIntervention(lc.model).capture() as cap:  # a dead one leaves no trace
        _run(lc, enc)
    assert all(p is not None for p in cap.probs)

"""Universal adversarial trigger baseline (HotFlip search over the vocabulary).

Wallace et al., "Universal Adversarial Triggers for Attacking and Analyzing NLP", EMNLP 2019,
https://arxiv.org/abs/1908.07125. A fixed-length token sequence is prepended to every input;
at each step the gradient of the loss w.r.t. the trigger embeddings (averaged over a batch)
ranks vocabulary replacements by the first-order loss change ``(e_v - e_cur) . grad``; the top
``candidates`` per position are tried with real forward passes and the best kept.

Departures: non-targeted (maximise the loss of the gold label) rather than targeted; greedy
per-position replacement (beam size 1); candidates restricted to whole-word vocabulary entries
(no ``##`` pieces, no special or ``[unused]`` tokens) so the result is a word trigger that
``attacks.trigger_insertion`` can insert (``position="start"``). In vocabularies that mark word
starts (SentencePiece ``▁``: DeBERTa-v3, XLM-R; byte-level BPE ``Ġ``: RoBERTa, ModernBERT) the
whole words are the marked alphabetic pieces, and the trigger's words are reported without the
marker (``▁good`` -> ``good``), as a person would type them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from attacks.trigger_file import Trigger, TriggerFileError


@dataclass
class UniversalTriggerResult:
    tokens: list[str]
    loss: float
    history: list[tuple[list[str], float]] = field(default_factory=list)

    def as_trigger(self) -> Trigger:
        n = len(self.tokens)
        return Trigger(tokens=list(self.tokens), segments=[0] * n,
                       relative_positions=[0.0] * n, position="start",
                       scores={"rank": self.loss, "universal_loss": self.loss})


WORD_MARKERS = ("▁", "Ġ")  # SentencePiece and byte-level BPE word starts


def word_marker(tokenizer) -> str | None:
    """The word-start marker of the tokenizer's vocabulary (``▁`` or ``Ġ``), or ``None``
    (WordPiece, whose continuations carry ``##`` instead)."""
    vocab = tokenizer.get_vocab()
    for marker in WORD_MARKERS:
        if sum(t.startswith(marker) for t in vocab) > 0.1 * max(len(vocab), 1):
            return marker
    return None


def _word_vocab_mask(tokenizer) -> torch.Tensor:
    vocab = tokenizer.get_vocab()
    mask = torch.zeros(len(vocab), dtype=torch.bool)
    special = set(tokenizer.all_special_ids)
    marker = word_marker(tokenizer)
    for tok, idx in vocab.items():
        if idx >= len(mask) or idx in special:
            continue
        if marker is not None:
            whole = tok.startswith(marker) and tok[1:].isalpha()
        else:
            whole = tok.isalpha() and not tok.startswith("##") and not tok.startswith("[")
        mask[idx] = whole
    return mask


def _words(tokenizer, ids: list[int]) -> list[str]:
    marker = word_marker(tokenizer)
    toks = tokenizer.convert_ids_to_tokens(ids)
    return [t.removeprefix(marker) if marker else t for t in toks]


def _batch(tokenizer, examples, trigger_ids: list[int], device):
    enc = tokenizer([e.text for e in examples],
                    [e.pair for e in examples] if examples[0].pair is not None else None,
                    padding=True, truncation=True, max_length=256, return_tensors="pt")
    n, k = enc["input_ids"].shape[0], len(trigger_ids)
    trig = torch.tensor(trigger_ids).expand(n, k)  # (B, k)
    ids = torch.cat([enc["input_ids"][:, :1], trig, enc["input_ids"][:, 1:]], dim=1)
    mask = torch.cat([enc["attention_mask"][:, :1], torch.ones(n, k, dtype=torch.long),
                      enc["attention_mask"][:, 1:]], dim=1)
    out = {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
    if "token_type_ids" in enc:
        tt = enc["token_type_ids"]
        out["token_type_ids"] = torch.cat([tt[:, :1], torch.zeros(n, k, dtype=tt.dtype), tt[:, 1:]],
                                          dim=1).to(device)
    return out


def universal_trigger(
    model, tokenizer, examples: Sequence[Any], *, length: int = 3, iterations: int = 3,
    candidates: int = 20, batch_size: int = 32, init_word: str = "the", seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> UniversalTriggerResult:
    """Search a ``length``-word trigger that maximises the gold-label loss on ``examples``."""
    if length < 1 or iterations < 1 or candidates < 1:
        raise TriggerFileError("length, iterations and candidates must be positive")
    if not examples or any(e.label is None for e in examples):
        raise TriggerFileError("the universal trigger search needs labelled examples")
    device = next(model.parameters()).device
    embeddings = model.get_input_embeddings().weight  # (V, D)
    allowed = _word_vocab_mask(tokenizer).to(device)
    marker = word_marker(tokenizer)
    init = tokenizer.convert_tokens_to_ids((marker or "") + init_word)
    trigger = [init] * length
    rng = random.Random(seed)
    rows = list(examples)

    def loss_of(ids: list[int], batch) -> float:
        with torch.no_grad():
            enc = _batch(tokenizer, batch, ids, device)
            labels = torch.tensor([int(e.label) for e in batch], device=device)
            return float(F.cross_entropy(model(**enc).logits, labels))

    history = []
    steps = iterations * length
    for it in range(iterations):
        for pos in range(length):
            batch = rng.sample(rows, min(batch_size, len(rows)))
            enc = _batch(tokenizer, batch, trigger, device)
            embeds = embeddings[enc["input_ids"]].detach().requires_grad_(True)  # (B, T, D)
            labels = torch.tensor([int(e.label) for e in batch], device=device)
            rest = {k: v for k, v in enc.items() if k != "input_ids"}
            loss = F.cross_entropy(model(inputs_embeds=embeds, **rest).logits, labels)
            (grad,) = torch.autograd.grad(loss, embeds)
            g = grad[:, 1 + pos].mean(0)  # (D,)
            gain = (embeddings.detach() @ g) - embeddings[trigger[pos]].detach() @ g  # (V,)
            gain = gain.masked_fill(~allowed, float("-inf"))
            best_ids, best_loss = trigger, loss_of(trigger, batch)
            for cand in gain.topk(candidates).indices.tolist():
                trial = trigger[:pos] + [cand] + trigger[pos + 1 :]
                trial_loss = loss_of(trial, batch)
                if trial_loss > best_loss:
                    best_ids, best_loss = trial, trial_loss
            trigger = best_ids
            history.append((_words(tokenizer, trigger), best_loss))
            if progress is not None:
                progress((it * length + pos + 1) / steps)
    final = loss_of(trigger, rows[: max(batch_size, 1) * 4])
    return UniversalTriggerResult(_words(tokenizer, trigger), final, history)

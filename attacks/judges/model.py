"""Model judges: a local Hugging Face sequence classifier the user trusts, or a zero-shot NLI model.

Both load through ``attribution.model_loading.load_classifier`` (safetensors only,
``trust_remote_code=False``) and are read in ``mode="classify"`` (``attacks.judges.base``).

* ``ModelJudge(labels, model=DIR, label_map={judge_label: user_label})``: the judge's
  probabilities, summed over the judge labels mapped to each user label; judge labels left out
  of the map are ignored (an example whose top judge label is unmapped gets no opinion).
* ``NLIJudge(labels, model=DIR, hypotheses={user_label: "This review is positive."})``:
  zero-shot classification as in Yin, Hay and Roth, "Benchmarking Zero-shot Text
  Classification", EMNLP 2019: the text is the premise, each label's hypothesis is scored, and
  the entailment probability (softmax over the NLI model's own labels) is normalised across
  user labels. A pair input is judged as one premise "text pair". A hypothesis may contain
  ``{label}``, filled with the user label name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from attacks.batched_forward import batched_logits
from attacks.judges.base import Judge, JudgeError


def _load(model: str):
    from attribution.model_loading import load_classifier

    if not model:
        raise JudgeError("this judge needs model=DIR (a saved sequence classifier)")
    return load_classifier(model)


class ModelJudge(Judge):
    name = "model"
    mode = "classify"

    def __init__(self, labels: Sequence[str], *, model: str, label_map: Mapping[str, str] | None = None,
                 batch_size: int = 32) -> None:
        self.labels = list(labels)
        self.loaded = _load(model)
        judge_labels = self.loaded.labels
        mapping = dict(label_map) if label_map else {n: n for n in judge_labels if n in self.labels}
        for j, u in mapping.items():
            if j not in judge_labels:
                raise JudgeError(f"model judge: {j!r} is not a label of {model} ({', '.join(judge_labels)})")
            if u not in self.labels:
                raise JudgeError(f"model judge: {u!r} is not a label of the audited model ({', '.join(self.labels)})")
        if not mapping:
            raise JudgeError("model judge: no judge label maps to an audited label; give label_map")
        self.index = {judge_labels.index(j): self.labels.index(u) for j, u in mapping.items()}
        self.batch_size = batch_size
        self.source = model

    def describe(self) -> dict:
        return {"name": self.name, "mode": self.mode, "model": self.source,
                "model_sha256": self.loaded.sha256,
                "label_map": {self.loaded.labels[j]: self.labels[u] for j, u in self.index.items()}}

    def scores(self, texts, pairs=None):
        probs = torch.softmax(batched_logits(self.loaded.model, self.loaded.tokenizer, texts, pairs,
                                             batch_size=self.batch_size), -1)  # (N, C_judge)
        out: list[list[float] | None] = []
        for row in probs:
            if int(row.argmax()) not in self.index:
                out.append(None)
                continue
            s = [0.0] * len(self.labels)
            for j, u in self.index.items():
                s[u] += float(row[j])
            out.append(s)
        return out


class NLIJudge(Judge):
    name = "nli"
    mode = "classify"

    def __init__(self, labels: Sequence[str], *, model: str, hypotheses: Mapping[str, str] | None = None,
                 template: str | None = None, batch_size: int = 32) -> None:
        self.labels = list(labels)
        if hypotheses:
            unknown = set(hypotheses) - set(self.labels)
            if unknown or set(hypotheses) != set(self.labels):
                raise JudgeError(f"nli judge: give one hypothesis per label ({', '.join(self.labels)})")
            self.hypotheses = [str(hypotheses[n]).replace("{label}", n) for n in self.labels]
        elif template:
            self.hypotheses = [template.replace("{label}", n) for n in self.labels]
        else:
            raise JudgeError("nli judge: give hypotheses per label or a template with {label}")
        self.loaded = _load(model)
        names = [n.lower() for n in self.loaded.labels]
        hits = [i for i, n in enumerate(names) if n.startswith("entail")]
        if len(hits) != 1:
            raise JudgeError(f"nli judge: {model} has no single 'entailment' label ({', '.join(self.loaded.labels)})")
        self.entail = hits[0]
        self.batch_size = batch_size
        self.source = model

    def describe(self) -> dict:
        return {"name": self.name, "mode": self.mode, "model": self.source,
                "model_sha256": self.loaded.sha256, "hypotheses": dict(zip(self.labels, self.hypotheses, strict=True))}

    def scores(self, texts, pairs=None):
        pairs = pairs or [None] * len(texts)
        premises = [t if p is None else f"{t} {p}" for t, p in zip(texts, pairs, strict=True)]
        k = len(self.labels)
        flat_p = [p for p in premises for _ in range(k)]
        flat_h = [h for _ in premises for h in self.hypotheses]
        logits = batched_logits(self.loaded.model, self.loaded.tokenizer, flat_p, flat_h,
                                batch_size=self.batch_size)
        entail = torch.softmax(logits, -1)[:, self.entail].view(len(premises), k)  # (N, K)
        entail = entail / entail.sum(-1, keepdim=True).clamp_min(1e-12)
        return [row.tolist() for row in entail]

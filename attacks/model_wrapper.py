"""A TextAttack model wrapper that pads each query batch dynamically.

TextAttack's ``HuggingFaceModelWrapper`` pads every query to the tokenizer's maximum length
(512 for MiniLM), about 8x slower than padding to the longest input of the batch on a 6-layer
model. This wrapper sends TextAttack's query batches through ``attacks.batched_forward``, the
same code the batched trigger evaluation uses, so both see identical logits.
"""

from __future__ import annotations

import torch

from attacks.textattack_offline import import_textattack

import_textattack()
from textattack.models.wrappers import ModelWrapper  # noqa: E402

from attacks.batched_forward import batched_logits  # noqa: E402


class DynamicPaddingModelWrapper(ModelWrapper):
    """Wraps a Hugging Face sequence classifier + tokenizer; returns logits ``(N, C)``."""

    def __init__(self, model, tokenizer, *, batch_size: int = 32):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size

    def __call__(self, text_input_list) -> torch.Tensor:
        texts, pairs = [], []
        for item in text_input_list:
            if isinstance(item, (tuple, list)):
                if len(item) != 2:
                    raise ValueError(f"expected one or two text columns, got {len(item)}")
                texts.append(item[0])
                pairs.append(item[1])
            else:
                texts.append(item)
                pairs.append(None)
        has_pair = any(p is not None for p in pairs)
        return batched_logits(self.model, self.tokenizer, texts, pairs if has_pair else None,
                              batch_size=self.batch_size)

    def to(self, device):
        self.model.to(device)
        return self

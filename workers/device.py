"""The worker's device: one GPU per worker process, chosen by ``CUDA_VISIBLE_DEVICES``.

Compose reserves one GPU per worker container, so inside it the only visible GPU is
``cuda:0``; with no GPU visible the worker runs on CPU.
"""

from __future__ import annotations

import os


def worker_device() -> str:
    import torch

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return "cpu"
    return "cuda:0" if torch.cuda.is_available() else "cpu"

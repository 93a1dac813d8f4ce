"""Loaded classifiers cached per worker process (lazily, on first use; never at import)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

_MAX_MODELS = 2
_cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
_lock = threading.Lock()
stats = {"loads": 0, "hits": 0}


def get_loaded(model_dir: Path) -> Any:
    """``attribution.model_loading.load_classifier`` once per (directory, device) per process."""
    from attribution.model_loading import load_classifier
    from workers.device import worker_device

    key = (str(Path(model_dir).resolve()), worker_device())
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            stats["hits"] += 1
            return _cache[key]
    loaded = load_classifier(key[0], device=key[1])
    with _lock:
        _cache[key] = loaded
        stats["loads"] += 1
        while len(_cache) > _MAX_MODELS:
            _cache.popitem(last=False)
    return loaded

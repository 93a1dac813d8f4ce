"""Let ``import textattack`` succeed without flair (so TextAttack runs on transformers 5.x).

TextAttack 0.3.11 declares ``flair`` and imports it at import time (``shared/attacked_text.py``,
``shared/utils/strings.py``, ``constraints/grammaticality/part_of_speech.py``), and flair 0.15
requires ``transformers<5``. Flair is only *called* by the parts that tag words with flair's
hub-downloaded taggers (``AttackedText.pos_of_word_index`` / ``ner_of_word_index`` and the
``PartOfSpeech`` constraint with ``tagger_type="flair"``, used e.g. by the alzantot /
faster-alzantot / bae / bert-attack style recipes that ask for flair tags). Every recipe attaudit
uses (its trigger recipe, deepwordbug, pruthi, input-reduction, pwws) never calls flair.

``register()`` appends an import finder at the *end* of ``sys.meta_path``: when the real flair
is installed, Python's normal finders load it first and nothing changes. Only when no flair
exists does the finder provide small stand-in modules ``flair``, ``flair.data`` and
``flair.models`` with the names TextAttack touches at import time (``flair.device``,
``flair.data.Sentence``, ``flair.data.Tokenizer``, ``flair.models.SequenceTagger``). Building
a ``Sentence`` or loading a ``SequenceTagger`` raises ``FlairUnavailable`` with the reason, so
a flair-using recipe fails with a clear message instead of at import time.

Activated by ``attacks.textattack_offline.import_textattack()`` (every attaudit import of
TextAttack) and, for TextAttack's own ``textattack`` command, by the one-line
``attaudit_flair_shim.pth`` that ``scripts/setup.sh`` writes into the environment's
site-packages (``python -m attacks.flair_shim --install-pth`` does the same by hand).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from pathlib import Path

MESSAGE = (
    "this TextAttack component tags words with flair, which is not installed (flair requires "
    "transformers<5); attaudit's recipes (trigger, deepwordbug, pruthi, input-reduction, pwws) "
    "do not need it. For flair-tagger recipes install flair in a transformers 4.x environment "
    "(its taggers are downloaded from the Hugging Face hub on first use)."
)
PTH_NAME = "attaudit_flair_shim.pth"
# The .pth file loads a standalone copy of this module (``attaudit_flair_shim``) at interpreter
# start-up, not the ``attacks`` package: a process that never uses TextAttack (the API) must not
# import attaudit's science. The line stays silent where the copy is absent.
SHIM_MODULE = "attaudit_flair_shim"
PTH_LINE = (f"import importlib.util as _u; _u.find_spec('{SHIM_MODULE}') and "
            f"__import__('{SHIM_MODULE}').register()\n")


class FlairUnavailable(ImportError):
    """A flair-using TextAttack component was used where flair is not installed."""


class Sentence:
    """Stand-in for ``flair.data.Sentence``: creating one means flair was needed."""

    def __init__(self, *args, **kwargs):
        raise FlairUnavailable(MESSAGE)


class Tokenizer:
    """Stand-in base class for ``flair.data.Tokenizer`` (TextAttack subclasses it at import)."""

    def tokenize(self, text: str) -> list[str]:
        raise FlairUnavailable(MESSAGE)


class SequenceTagger:
    """Stand-in for ``flair.models.SequenceTagger``: loading a tagger needs flair."""

    def __init__(self, *args, **kwargs):
        raise FlairUnavailable(MESSAGE)

    @classmethod
    def load(cls, *args, **kwargs):
        raise FlairUnavailable(MESSAGE)


def _module(name: str) -> types.ModuleType:
    mod = types.ModuleType(name, f"attaudit stand-in for {name} (flair is not installed)")
    mod.__attaudit_flair_shim__ = True
    if name == "flair":
        mod.__path__ = []  # a package, so ``flair.data`` resolves
        mod.device = None
    elif name == "flair.data":
        mod.Sentence, mod.Tokenizer = Sentence, Tokenizer
    elif name == "flair.models":
        mod.SequenceTagger = SequenceTagger
    return mod


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    names = ("flair", "flair.data", "flair.models")

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.names:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=fullname == "flair")
        return None

    def create_module(self, spec):
        return _module(spec.name)

    def exec_module(self, module):
        parent, _, child = module.__name__.rpartition(".")
        if parent and parent in sys.modules:
            setattr(sys.modules[parent], child, module)
        if module.__name__ == "flair":  # like the real package, ``flair.data`` is there at once
            import importlib

            for sub in ("flair.data", "flair.models"):
                importlib.import_module(sub)


def register() -> None:
    """Append the fallback finder once (after the real finders: real flair always wins)."""
    if not any(type(f).__name__ == "_Finder" and hasattr(f, "names") for f in sys.meta_path):
        sys.meta_path.append(_Finder())


def is_stand_in() -> bool:
    """True when ``flair`` (imported) is this module's stand-in rather than the real package."""
    import flair

    return bool(getattr(flair, "__attaudit_flair_shim__", False))


def install_pth(site_packages: str | Path | None = None) -> Path:
    """Write ``attaudit_flair_shim.pth`` so TextAttack's own CLI gets the fallback too."""
    import sysconfig

    root = Path(site_packages or sysconfig.get_paths()["purelib"])
    (root / f"{SHIM_MODULE}.py").write_text(Path(__file__).read_text(encoding="utf-8"), encoding="utf-8")
    target = root / PTH_NAME
    target.write_text(PTH_LINE)
    return target


if __name__ == "__main__":
    if sys.argv[1:] == ["--install-pth"]:
        print(install_pth())
    else:
        print("usage: python -m attacks.flair_shim --install-pth", file=sys.stderr)
        sys.exit(2)

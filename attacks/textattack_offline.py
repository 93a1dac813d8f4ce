"""Import TextAttack offline: NLTK data created locally, no download attempts.

``import textattack`` builds a ``StopwordModification`` at import time (needs the NLTK
``stopwords`` corpus) and, on first use, runs a post-install step that calls
``nltk.download`` six times; without network those calls fail or stall. This module

* writes an ``nltk_data`` directory (``$ATTAUDIT_NLTK_DATA`` or ``~/.cache/attaudit/nltk_data``)
  with ``corpora/stopwords/english`` (NLTK's 179-word English list) and, when Debian's
  ``wordnet-base`` / ``wordnet-sense-index`` files are present in ``/usr/share/wordnet``,
  a ``corpora/wordnet`` copy of them (plus the ``lexnames`` table NLTK's reader needs and an
  empty ``omw-1.4`` corpus so ``wordnet.langs()`` works), for TextAttack's pwws;
* puts that directory first on ``nltk.data.path`` and in ``NLTK_DATA`` (child processes such
  as the ``textattack`` CLI inherit it);
* marks TextAttack's post-install step as done and replaces ``nltk.download`` in this process
  by an offline lookup that never touches the network.

TextAttack's own CLI (``textattack attack --attack-from-file recipe.py^attack ...``) runs in a
process attaudit does not control, so ``NLTK_DATA`` is not set there. For it, setup runs
``python -m attacks.textattack_offline`` (``scripts/setup.sh`` does), which writes the same data
into ``<sys.prefix>/share/nltk_data``: a directory NLTK searches by default for the interpreter
of that environment (``nltk.data.path`` lists ``sys.prefix``/``nltk_data``, ``share/nltk_data``
and ``lib/nltk_data`` on POSIX), so the documented command works as written, offline. The data
comes from this module (the stop-word list) and Debian's WordNet files: nothing is downloaded.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

DEBIAN_WORDNET = Path("/usr/share/wordnet")

# NLTK's English stop-word list (nltk_data corpora/stopwords/english), 179 words.
STOPWORDS = """i me my myself we our ours ourselves you you're you've you'll you'd your yours
yourself yourselves he him his himself she she's her hers herself it it's its itself they them
their theirs themselves what which who whom this that that'll these those am is are was were be
been being have has had having do does did doing a an the and but if or because as until while
of at by for with about against between into through during before after above below to from up
down in out on off over under again further then once here there when where why how all any
both each few more most other some such no nor not only own same so than too very s t can will
just don don't should should've now d ll m o re ve y ain aren aren't couldn couldn't didn
didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma mightn mightn't mustn
mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't weren weren't won won't wouldn
wouldn't""".split()

# WordNet 3.0 lexicographer files (lexnames(5WN)); Debian ships the man page, not the file.
_LEXFILES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
    "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group "
    "noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant "
    "noun.possession noun.process noun.quantity noun.relation noun.shape noun.state "
    "noun.substance noun.time verb.body verb.change verb.cognition verb.communication "
    "verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion "
    "verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
_SYNTACTIC = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}
LEXNAMES = "".join(
    f"{i:02d}\t{name}\t{_SYNTACTIC[name.split('.')[0]]}\n" for i, name in enumerate(_LEXFILES)
)


def nltk_data_dir() -> Path:
    """Where attaudit keeps its NLTK data."""
    env = os.environ.get("ATTAUDIT_NLTK_DATA")
    return Path(env) if env else Path.home() / ".cache" / "attaudit" / "nltk_data"


def environment_nltk_data_dir(prefix: str | Path | None = None) -> Path:
    """``<prefix>/share/nltk_data``: searched by NLTK by default for that environment's Python."""
    return Path(prefix if prefix is not None else sys.prefix) / "share" / "nltk_data"


def _write_dir_atomically(target: Path, files: dict[str, str], copies: dict[str, Path]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        for name, text in files.items():
            (tmp / name).write_text(text)
        for name, src in copies.items():  # copies: NLTK refuses symlinks leaving its root
            shutil.copyfile(src, tmp / name)
        os.replace(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not target.exists():
            raise


def wordnet_files_present(source: Path = DEBIAN_WORDNET) -> bool:
    return all((source / f).is_file() for f in ("data.noun", "index.noun", "index.sense"))


def prepare_nltk_data(root: Path | None = None, *, wordnet_source: Path = DEBIAN_WORDNET) -> Path:
    """Create (once) the NLTK data directory and return it."""
    root = root or nltk_data_dir()
    corpora = root / "corpora"
    stop = corpora / "stopwords"
    if not (stop / "english").is_file():
        _write_dir_atomically(stop, {"english": "\n".join(STOPWORDS) + "\n"}, {})
    wn = corpora / "wordnet"
    if not (wn / "lexnames").is_file() and wordnet_files_present(wordnet_source):
        links = {p.name: p for p in wordnet_source.iterdir() if p.is_file()}
        _write_dir_atomically(wn, {"lexnames": LEXNAMES}, links)
    omw = corpora / "omw-1.4"
    if not omw.is_dir():
        _write_dir_atomically(omw, {"README": "empty: English WordNet only\n"}, {})
    return root


def _offline_download(info_or_id=None, *args, **kwargs) -> bool:
    """Stand-in for ``nltk.download``: True when the resource is already local, never fetches."""
    import nltk

    name = str(info_or_id or "")
    for kind in ("corpora", "taggers", "tokenizers", "misc"):
        for suffix in ("", ".zip"):
            try:
                nltk.data.find(f"{kind}/{name}{suffix}")
                return True
            except LookupError:
                continue
    return False


def _mark_textattack_post_install_done() -> None:
    cache = Path(os.environ.get("TA_CACHE_DIR", Path.home() / ".cache" / "textattack"))
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "post_install_check_3").touch()


def configure_offline_nltk(root: Path | None = None) -> Path:
    """Prepare the data, put it on the NLTK path and environment, disable downloads."""
    root = prepare_nltk_data(root)
    paths = [p for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    if str(root) not in paths:
        os.environ["NLTK_DATA"] = os.pathsep.join([str(root), *paths])
    import nltk

    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))
    nltk.download = _offline_download
    _mark_textattack_post_install_done()
    return root


def import_textattack():
    """``import textattack`` without network access; returns the module. Without flair
    (transformers 5.x) its import-time uses are served by ``attacks.flair_shim``."""
    from attacks.flair_shim import register

    register()
    configure_offline_nltk()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # TextAttack's import runs logging.config.dictConfig without disable_existing_loggers=False,
    # which silences every logger created before it (in a Celery worker: the task-outcome log
    # of every later task). Keep the host's loggers as they were.
    existing = {name: lg.disabled for name, lg in logging.root.manager.loggerDict.items()
                if isinstance(lg, logging.Logger)}
    try:
        import textattack
    except ModuleNotFoundError as exc:
        if exc.name != "textattack":
            raise
        raise ImportError(
            "TextAttack is not installed: run `pip install --no-deps textattack==0.3.11` "
            "(--no-deps: it declares flair, which pins transformers<5; attaudit already depends "
            "on its other requirements) or scripts/setup.sh"
        ) from exc
    finally:
        for name, disabled in existing.items():
            logging.getLogger(name).disabled = disabled
    return textattack


def wordnet_ready() -> bool:
    """True when NLTK can read WordNet from the prepared directory (pwws can run)."""
    configure_offline_nltk()
    try:
        from nltk.corpus import wordnet

        return bool(wordnet.synsets("good"))
    except (LookupError, OSError):
        return False


def main(argv: list[str] | None = None) -> int:
    """Install the offline NLTK data where the environment's NLTK finds it without NLTK_DATA."""
    parser = argparse.ArgumentParser(
        prog="python -m attacks.textattack_offline",
        description="Write NLTK's English stop words (and WordNet, from Debian's wordnet-base "
        "files when present) into <prefix>/share/nltk_data, so TextAttack's own CLI runs offline.",
    )
    parser.add_argument("--prefix", default=sys.prefix,
                        help="environment prefix (default: this interpreter's, %(default)s)")
    args = parser.parse_args(argv)
    root = prepare_nltk_data(environment_nltk_data_dir(args.prefix))
    has_wordnet = (root / "corpora" / "wordnet" / "lexnames").is_file()
    print(f"NLTK data in {root}: stopwords" + (", wordnet" if has_wordnet else
          " (no WordNet: install Debian's wordnet-base and wordnet-sense-index for pwws)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

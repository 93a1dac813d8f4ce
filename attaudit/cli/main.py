"""The `attaudit` command line: a registry of subcommand modules.

Each module in ``COMMAND_MODULES`` exposes ``register(subparsers)``, which adds its
subcommand(s) and sets ``func`` on the parser. Modules import torch and friends lazily
inside their handlers so ``attaudit --help`` stays fast.

User errors (bad paths, bad files, bad options) raise ``UserError`` (or a library's
``ValueError`` subclass marked as an input error) and end as one line on stderr with
exit code 2: never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from attaudit.cli.errors import UserError, is_input_error
from common.version import __version__

# Subcommand modules, in the order `attaudit --help` lists them.
COMMAND_MODULES: list[str] = [
    "attaudit.cli.audit",
    "attaudit.cli.demo",
    "attaudit.cli.finetune",
    "attaudit.cli.attribute",
    "attaudit.cli.heads",
    "attaudit.cli.explain",
    "attaudit.cli.triggers",
    "attaudit.cli.service_cmds",
]


class OneLineParser(argparse.ArgumentParser):
    """argparse with the CLI's error contract: one line ``attaudit CMD: error: ...``, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="attaudit",
        description="Adversarial-robustness audits for transformer text classifiers.",
    )
    parser.add_argument("--version", action="version", version=f"attaudit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except KeyboardInterrupt:
        print("attaudit: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place user errors become exit code 2
        if isinstance(exc, UserError) or is_input_error(exc):
            print(f"attaudit {args.command}: error: {exc}", file=sys.stderr)
            return 2
        raise
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())

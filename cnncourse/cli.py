"""The `cnncourse` command: one sub-command per workflow, each defined beside the code it runs.

Each module below offers `add_cli(subparsers)`, which registers its sub-commands and sets
`func` on the parsed arguments.
"""

from __future__ import annotations

import argparse
import sys

from cnncourse import labs, train
from cnncourse.grading import cli as grading_cli

# The modules that contribute sub-commands. Each imports its heavy dependencies (nbgrader,
# Keras) inside the functions that run a command, so `cnncourse --help` stays fast.
COMMAND_MODULES = (labs, train, grading_cli)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnncourse", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.add_cli(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

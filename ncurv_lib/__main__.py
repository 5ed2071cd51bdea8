"""Command line: ``python -m ncurv_lib {train,curvature,prune,bench} ...``.

Thin: parses, calls the library, prints. Each subcommand lives in the module
that owns its step and exposes ``add_arguments(parser)`` and ``run(args)``.
"""
import argparse
import sys
from importlib import import_module

SUBCOMMANDS = {
    "train": ("ncurv_lib.train_cli", "train models (one config, or the zoo of a scale)"),
    "curvature": ("ncurv_lib.curvature.cli", "parameter curvature scores of a cached model"),
    "prune": ("ncurv_lib.pruning.cli", "pruning sweeps of a cached model"),
    "bench": ("ncurv_lib.bench", "curvature engine benchmark table"),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ncurv_lib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    argv = sys.argv[1:] if argv is None else argv
    chosen = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == chosen:  # import only the module that runs
            import_module(module).add_arguments(p)
    args = parser.parse_args(argv)
    return import_module(SUBCOMMANDS[args.command][0]).run(args)


if __name__ == "__main__":
    sys.exit(main())

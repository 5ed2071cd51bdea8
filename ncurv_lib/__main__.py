"""Command line: python -m ncurv_lib {train,curvature,prune,bench} ...

Thin: parses, calls the library, prints. Each subcommand lives in the module
that owns its step and exposes add_arguments(parser) and run(args). An error is one
line naming the fix (exit status 2); --debug shows the traceback instead.
"""
import argparse
import sys
from importlib import import_module

from . import __version__

SUBCOMMANDS = {
    "train": ("ncurv_lib.train_cli", "train models (one config, or the zoo of a scale)"),
    "curvature": ("ncurv_lib.curvature_cli", "parameter curvature scores of a trained model"),
    "prune": ("ncurv_lib.pruning.cli", "pruning sweeps of a trained model"),
    "bench": ("ncurv_lib.bench", "curvature engine benchmark table"),
}


def build_parser(chosen=None):
    """The parser; only the subcommand ``chosen`` imports its module and flags."""
    from .cli_args import HelpFormatter, plain, show_defaults
    parser = argparse.ArgumentParser(prog="python -m ncurv_lib",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"ncurv_lib {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error instead of one line")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        if name == chosen:  # import only the module that runs
            mod = import_module(module)
            p = sub.add_parser(name, help=help_text, description=plain(mod.__doc__ or ""),
                               formatter_class=HelpFormatter)
            mod.add_arguments(p)
            show_defaults(p)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv  # accepted before or after the subcommand
    argv = [a for a in argv if a != "--debug"]
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in SUBCOMMANDS else None)
    args = parser.parse_args(argv)
    try:
        return import_module(SUBCOMMANDS[args.command][0]).run(args)
    except KeyboardInterrupt:
        print("interrupted: finished work is saved; run the same command again to resume",
              file=sys.stderr)
        return 130
    except Exception as err:  # one line naming the fix; --debug for the traceback
        if debug:
            raise
        text = " ".join(str(err).split()) or type(err).__name__
        print(f"error: {text}  (--debug shows the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

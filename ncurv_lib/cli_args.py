"""Flags the subcommands share: which model (a preset or a checkpoint file).

Each vocabulary is the library's own (:data:`ncurv_lib.data.DATASETS`,
:data:`ncurv_lib.models.MODELS`, :data:`ncurv_lib.models.ACTIVATIONS`,
:data:`ncurv_lib.train.SCHEMES`, :data:`ncurv_lib.train.SCALES`), never retyped here.
"""
import argparse
import re

from .data import DATASETS
from .models import ACTIVATIONS, MODELS
from .train import SCALES, SCHEMES, Checkpoint, TrainConfig, load_checkpoint

PRESET_KEYS = ("dataset", "model", "act", "scheme")


def add_model_arguments(parser, checkpoint=True):
    """``--dataset --model --act --scheme --scale`` (and ``--checkpoint``)."""
    parser.add_argument("--dataset", default="mnist", choices=DATASETS)
    parser.add_argument("--model", default="lenet5", choices=MODELS)
    parser.add_argument("--act", default="relu", choices=tuple(ACTIVATIONS))
    parser.add_argument("--scheme", default="ce", choices=SCHEMES)
    parser.add_argument("--scale", default="cpu", choices=SCALES,
                        help="preset: smoke (seconds), cpu (the book; VGG9 takes hours to "
                             "train and score), paper (a GPU)")
    if checkpoint:
        parser.add_argument("--checkpoint", default=None,
                            help="a model file (<cache>/models/<hash>.pt, or your own with "
                                 "the same layout) instead of the preset; results of weights "
                                 "that differ from the cached model's are cached under their "
                                 "own key")


def model_source(args) -> Checkpoint:
    """The model the flags name: ``--checkpoint``'s (loaded, with its weights' key), or
    the preset's configuration (``model`` None: the cached model, trained if missing)."""
    if getattr(args, "checkpoint", None):
        return load_checkpoint(args.checkpoint)
    return Checkpoint(TrainConfig.preset(args.dataset, args.model, args.act, args.scheme,
                                         args.scale), None)


def plain(doc: str) -> str:
    """A docstring as help text: RST roles and double backticks removed.

    >>> plain("see :func:`~ncurv_lib.train.load_or_train` and ``--scale``")
    'see load_or_train and --scale'
    """
    doc = re.sub(r":\w+:`~?(?:[\w.]*\.)?([^`]+)`", r"\1", doc)
    return doc.replace("``", "")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every flag's default shown after its help; descriptions keep their line breaks."""

    def _get_help_string(self, action):
        text = action.help or ""
        shown = action.default not in (None, argparse.SUPPRESS) and action.option_strings
        if shown and "%(default)" not in text:
            text = f"{text} (default: %(default)s)".strip()
        return text


def show_defaults(parser):
    """Give every flag a help line, so :class:`HelpFormatter` shows its default."""
    for action in parser._actions:  # argparse has no public list of a parser's actions
        if action.help is None and action.option_strings:
            shown = action.default not in (None, argparse.SUPPRESS)
            action.help = "(default: %(default)s)" if shown else ""

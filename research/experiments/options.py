"""Command-line options shared by the experiments (demo, sweep, objectives).

Kept free of JAX imports so that a bad option fails in well under a second,
before anything heavy is loaded.
"""

from __future__ import annotations

import argparse


def add_run_arguments(parser: argparse.ArgumentParser, *, out: str,
                      steps_help: str) -> None:
  """Adds the options every experiment shares: --seeds, --steps, --out."""
  parser.add_argument("--seeds", type=int, default=3,
                      help="seeds per setting, 0..N-1 (default 3)")
  parser.add_argument("--steps", type=int, default=None, help=steps_help)
  parser.add_argument("--out", default=out,
                      help=f"output folder (default {out})")


def check_run_arguments(parser: argparse.ArgumentParser,
                        args: argparse.Namespace) -> None:
  """Exits with a usage error naming the option when --seeds/--steps < 1."""
  if args.seeds < 1:
    parser.error(f"--seeds must be >= 1, got {args.seeds}")
  if args.steps is not None and args.steps < 1:
    parser.error(f"--steps must be >= 1, got {args.steps}")

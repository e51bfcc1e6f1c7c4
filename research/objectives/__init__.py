"""Objectives for the research code: pure `(loss, metrics)` functions.

Each function takes embeddings (or logits) and returns a scalar loss and a
dict of scalar metrics. The contrastive ones accept `axis_name` for use inside
`jax.shard_map`/`jax.pmap`: negatives are then gathered from every shard and
the value equals the single-device value on the global batch. Under plain
`jax.jit` with a sharded batch, call them without `axis_name`.
"""

from research.objectives.contrastive import mochi
from research.objectives.contrastive import mochi_hardest_negatives
from research.objectives.contrastive import mochi_synthetic_negatives
from research.objectives.contrastive import ntxent
from research.objectives.contrastive import supcon
from research.objectives.multihead import multihead
from research.objectives.multihead import multihead_row_loss
from research.objectives.multihead import omega
from research.objectives.supervised import cross_entropy

__all__ = [
    "cross_entropy",
    "mochi",
    "mochi_hardest_negatives",
    "mochi_synthetic_negatives",
    "multihead",
    "multihead_row_loss",
    "ntxent",
    "omega",
    "supcon",
]

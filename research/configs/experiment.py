"""The experiment config the CLI loads, parametrised by a string.

  python -m research.train \
      --config=research/configs/experiment.py:simclr,digits,mild \
      --workdir=/tmp/run --config.optim.num_steps=1000

The argument after the colon is `objective,dataset[,random_field]`:
objective one of simclr, mochi, multihead, supcon, cross_entropy, the last
optionally with a batch mixing: cross_entropy+mixup, cross_entropy+cutmix,
cross_entropy+resizemix (soft labels, `augment.mixing`); dataset
one of digits, cifar10, cifar100, stl10, imagenet2012, i_naturalist2021;
random_field one of mild, medium, strong (omitted: off). Every other field is
set with `--config.<sub>.<field>=VALUE` (`--config_help` lists them).
"""

from research.configs import base


def get_config(arg: str = "simclr,digits"):
  """The config of `arg` = "objective,dataset[,random_field]".

  Raises:
    ValueError: a malformed argument or an unknown name, with the allowed
      values.
  """
  parts = [p.strip() for p in arg.split(",")] if arg else []
  if not 2 <= len(parts) <= 3:
    raise ValueError(
        f"config argument {arg!r} must be 'objective,dataset' or "
        f"'objective,dataset,random_field' (e.g. 'simclr,digits,mild')")
  return base.get_config(*parts)

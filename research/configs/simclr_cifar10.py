"""simclr on cifar10; pass `:mild` / `:strong` (or --config.random_field) for random fields."""

from research.configs import base


def get_config(random_field: str = ""):
  return base.get_config(objective="simclr", dataset="cifar10",
                         random_field=random_field)

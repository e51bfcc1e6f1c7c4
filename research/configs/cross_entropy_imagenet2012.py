"""cross_entropy on imagenet2012; pass `:mild` / `:strong` (or --config.random_field) for random fields."""

from research.configs import base


def get_config(random_field: str = ""):
  return base.get_config(objective="cross_entropy", dataset="imagenet2012",
                         random_field=random_field)

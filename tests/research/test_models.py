"""Tests of research.models: shapes, BatchNorm modes, parameter counts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from research import models

# torchvision resnet18 / resnet50 minus the final fc layer.
TORCHVISION_R18 = 11_689_512 - (512 * 1000 + 1000)
TORCHVISION_R50 = 25_557_032 - (2048 * 1000 + 1000)


def _count(builder, **kw):
  # eval_shape: count parameters without allocating or initialising them.
  return models.count_params(nnx.eval_shape(lambda: builder(rngs=nnx.Rngs(0),
                                                            **kw)))


def test_resnet_parameter_counts():
  counts = {
      ("r18", "imagenet"): _count(models.ResNet18, stem="imagenet"),
      ("r18", "cifar"): _count(models.ResNet18, stem="cifar"),
      ("r50", "imagenet"): _count(models.ResNet50, stem="imagenet"),
      ("r50", "cifar"): _count(models.ResNet50, stem="cifar"),
  }
  assert counts == {
      ("r18", "imagenet"): 11_176_512,
      ("r18", "cifar"): 11_168_832,
      ("r50", "imagenet"): 23_508_032,
      ("r50", "cifar"): 23_500_352,
  }
  assert counts[("r18", "imagenet")] == TORCHVISION_R18
  assert counts[("r50", "imagenet")] == TORCHVISION_R50
  for (arch, _), n in counts.items():
    ref = 11.17e6 if arch == "r18" else 23.5e6
    assert abs(n - ref) / ref < 0.01


@nnx.jit
def _forward(model, x):
  return model(x)


def test_resnet18_output_shapes_both_stems_and_one_forward():
  x = jax.random.uniform(jax.random.key(0), (2, 32, 32, 3))
  for stem in ("cifar", "imagenet"):
    net = nnx.eval_shape(lambda: models.create_encoder(  # pylint: disable=cell-var-from-loop
        "resnet18", stem=stem, rngs=nnx.Rngs(0)))
    assert net.num_features == 512
    out = nnx.eval_shape(lambda m, x: m(x), net, x)
    assert out.shape == (2, 512) and out.dtype == jnp.float32
  # One real forward pass (ImageNet stem: the cheaper one on 32x32).
  net = models.create_encoder("resnet18", stem="imagenet", rngs=nnx.Rngs(0))
  y = _forward(net, x)
  assert y.shape == (2, 512) and np.isfinite(np.asarray(y)).all()
  assert np.asarray(y).std() > 0


def test_stems_differ_in_layout():
  cifar = nnx.eval_shape(lambda: models.ResNet50(stem="cifar",
                                                 rngs=nnx.Rngs(0)))
  imnet = nnx.eval_shape(lambda: models.ResNet50(stem="imagenet",
                                                 rngs=nnx.Rngs(0)))
  assert cifar.conv1.kernel.shape == (3, 3, 3, 64)
  assert cifar.conv1.strides == (1, 1)
  assert imnet.conv1.kernel.shape == (7, 7, 3, 64)
  assert imnet.conv1.strides == (2, 2)
  assert cifar.num_features == imnet.num_features == 2048
  # Spatial size: CIFAR stem keeps 32x32 into stage 1, ImageNet stem gives 8x8.
  x = jax.ShapeDtypeStruct((2, 32, 32, 3), jnp.float32)
  stage1 = lambda m, x: m.blocks[0](nnx.relu(m.bn1(m.conv1(x))))
  assert nnx.eval_shape(stage1, cifar, x).shape == (2, 32, 32, 256)
  pooled = lambda m, x: nnx.max_pool(nnx.relu(m.bn1(m.conv1(x))), (3, 3),
                                     strides=(2, 2), padding=((1, 1), (1, 1)))
  assert nnx.eval_shape(pooled, imnet, x).shape == (2, 8, 8, 64)
  with pytest.raises(ValueError, match="stem"):
    models.ResNet18(stem="tiny", rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="name"):
    models.create_encoder("vgg", rngs=nnx.Rngs(0))


def test_batchnorm_train_updates_stats_eval_does_not():
  net = models.SmallCNN(num_features=16, widths=(8, 8), rngs=nnx.Rngs(0))
  assert net.num_features == 16
  x = jax.random.uniform(jax.random.key(1), (4, 16, 16, 3))
  stats0 = jax.tree.map(np.asarray, nnx.state(net, nnx.BatchStat))
  net.train()
  y_train = _forward(net, x)
  assert y_train.shape == (4, 16)
  stats1 = jax.tree.map(np.asarray, nnx.state(net, nnx.BatchStat))
  changed = jax.tree.map(lambda a, b: not np.allclose(a, b), stats0, stats1)
  assert all(jax.tree.leaves(changed))
  # Train mode normalises with batch statistics: an example's output depends
  # on the rest of the batch.
  assert not np.allclose(_forward(net, x[:2])[0], y_train[0], atol=1e-5)
  stats1 = jax.tree.map(np.asarray, nnx.state(net, nnx.BatchStat))
  net.eval()
  y_eval = _forward(net, x)
  stats2 = jax.tree.map(np.asarray, nnx.state(net, nnx.BatchStat))
  jax.tree.map(np.testing.assert_array_equal, stats1, stats2)
  np.testing.assert_allclose(_forward(net, x[:2]), y_eval[:2], rtol=1e-5,
                             atol=1e-6)
  assert not np.allclose(y_eval, y_train, atol=1e-4)


def test_projection_heads():
  x = jax.random.normal(jax.random.key(2), (4, 32))
  v1 = models.ProjectionHead(32, hidden=64, out=16, rngs=nnx.Rngs(0))
  v2 = models.ProjectionHead(32, hidden=64, out=16, num_layers=3,
                             rngs=nnx.Rngs(0))
  assert _forward(v1, x).shape == _forward(v2, x).shape == (4, 16)
  assert models.count_params(v1) == 32 * 64 + 64 + 64 * 16 + 16
  # v2: three bias-free linears, BN (scale+bias) twice, BN bias only last.
  assert models.count_params(v2) == (32 * 64 + 64 * 64 + 64 * 16
                                     + 2 * 64 * 2 + 16)
  with pytest.raises(ValueError, match="num_layers"):
    models.ProjectionHead(32, num_layers=4, rngs=nnx.Rngs(0))

  heads = models.MultiHeadProjection(32, num_heads=3, hidden=8, out=5,
                                     rngs=nnx.Rngs(0))
  y = _forward(heads, x)
  assert y.shape == (3, 4, 5)
  w1, b1, w2, b2 = (np.asarray(p[...]) for p in (heads.w1, heads.b1, heads.w2,
                                                  heads.b2))
  assert not np.allclose(w1[0], w1[1])  # heads are initialised independently
  for c in range(3):
    ref = np.maximum(np.asarray(x) @ w1[c] + b1[c], 0) @ w2[c] + b2[c]
    np.testing.assert_allclose(y[c], ref, rtol=1e-5, atol=1e-5)


def _np_phi(net, z):
  z = z / np.linalg.norm(z, axis=-1, keepdims=True)
  h = np.maximum(z @ np.asarray(net.fc1.kernel[...])
                 + np.asarray(net.fc1.bias[...]), 0)
  return h @ np.asarray(net.fc2.kernel[...]) + np.asarray(net.fc2.bias[...])


def test_temperature_net_is_sigmoid_of_minus_phi_product():
  net = models.TemperatureNet(dim=4, hidden=6, rngs=nnx.Rngs(0))
  r = np.random.default_rng(0)
  a, b = r.normal(size=(2, 5, 4)).astype(np.float32)
  call = nnx.jit(lambda n, a, b: n(a, b))
  tau = call(net, a, b)
  score = np.sum(_np_phi(net, a) * _np_phi(net, b), -1)
  np.testing.assert_allclose(tau, 1 / (1 + np.exp(score)) * (2 - 1e-5) + 1e-5,
                             rtol=1e-5)
  # Symmetric in the pair, invariant to the inputs' scale.
  np.testing.assert_allclose(call(net, b, a), tau, rtol=1e-6)
  np.testing.assert_allclose(call(net, 3 * a, 0.5 * b), tau, rtol=1e-5)


def test_synchronised_batchnorm_under_pmap_matches_global_batch():
  """bn_axis_name makes pmap train-mode outputs equal the global-batch ones."""
  x = jax.random.uniform(jax.random.key(3), (8, 8, 8, 3))
  kw = dict(num_features=8, widths=(4,))
  ref = _forward(models.SmallCNN(rngs=nnx.Rngs(0), **kw), x)
  synced = models.SmallCNN(bn_axis_name="batch", rngs=nnx.Rngs(0), **kw)
  graphdef, state = nnx.split(synced)

  def apply(state, x):
    return nnx.merge(graphdef, state)(x)
  out = jax.pmap(apply, axis_name="batch", in_axes=(None, 0))(
      state, x.reshape(8, 1, 8, 8, 3))
  np.testing.assert_allclose(out.reshape(8, -1), ref, rtol=1e-4, atol=1e-5)
  # Without the axis name each device normalises its single example alone.
  plain_def, plain_state = nnx.split(models.SmallCNN(rngs=nnx.Rngs(0), **kw))
  local = jax.pmap(lambda s, x: nnx.merge(plain_def, s)(x), in_axes=(None, 0))(
      plain_state, x.reshape(8, 1, 8, 8, 3))
  assert not np.allclose(local.reshape(8, -1), ref, atol=1e-3)

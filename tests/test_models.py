"""Tests for dc_lib.core.models."""

import pytest
import torch
from torch import nn

from dc_lib.core.models import NETWORKS, ConvNet, get_network, has_batchnorm

NUM_CLASSES = 10

EMBED_DIMS = {
    "mlp": 128,
    "convnet": 128 * 4 * 4,
    "convnet_bn": 128 * 4 * 4,
    "convnet_d4": 128 * 2 * 2,
    "convnet_d4_bn": 128 * 2 * 2,
    "lenet": 84,
    "alexnet": 192 * 4 * 4,
    "alexnet_bn": 192 * 4 * 4,
    "alexcifarnet": 192,
    "vgg11": 512,
    "vgg11_bn": 512,
    "resnet18": 512,
    "resnet18_bn": 512,
    # the "_ap" variant keeps its final 512 x (H/8) x (W/8) map: 3x3 at 28x28, 4x4 at 32x32
    "resnet18_ap": {(28, 28): 512 * 3 * 3, (32, 32): 512 * 4 * 4},
    "resnet18_ap_bn": {(28, 28): 512 * 3 * 3, (32, 32): 512 * 4 * 4},
}


def _embed_dim(name, im_size):
    dim = EMBED_DIMS[name]
    return dim[im_size] if isinstance(dim, dict) else dim


def _num_params(net):
    return sum(p.numel() for p in net.parameters())


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_embed_dims_table_covers_every_network():
    assert set(EMBED_DIMS) == set(NETWORKS)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)], ids=["1x28x28", "3x32x32"])
@pytest.mark.parametrize("name", NETWORKS)
def test_forward_and_embed_shapes(name, shape):
    c, h, w = shape
    net = get_network(name, c, NUM_CLASSES, (h, w))
    x = torch.randn(2, c, h, w)
    with torch.no_grad():
        assert net(x).shape == (2, NUM_CLASSES)
        assert net.embed(x).shape == (2, _embed_dim(name, (h, w)))


def test_convnet_uses_four_blocks_at_64x64():
    net = get_network("convnet", 3, 200, (64, 64))
    assert net.depth == 4
    assert sum(isinstance(m, nn.Conv2d) for m in net.modules()) == 4
    with torch.no_grad():
        out = net(torch.randn(2, 3, 64, 64))
        emb = net.embed(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 200)
    assert emb.shape == (2, 128 * 4 * 4)


def test_convnet_single_channel_first_conv_pads_to_32x32():
    net = get_network("convnet", 1, NUM_CLASSES, (28, 28))
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert convs[0].padding == (3, 3)
    assert all(c.padding == (1, 1) for c in convs[1:])
    assert net.feat_shape == (128, 4, 4)


def test_name_lookup_is_case_insensitive():
    net = get_network("ConvNet_BN", 3, NUM_CLASSES)
    assert has_batchnorm(net)


def test_unknown_name_error_lists_valid_names():
    with pytest.raises(ValueError) as err:
        get_network("resnet50", 3, NUM_CLASSES)
    for name in NETWORKS:
        assert name in str(err.value)


def test_bad_override_value_error_lists_options():
    with pytest.raises(ValueError) as err:
        get_network("convnet", 3, NUM_CLASSES, norm="weightnorm")
    for option in ("none", "batchnorm", "layernorm", "instancenorm", "groupnorm"):
        assert option in str(err.value)


def test_unknown_override_key_error_lists_valid_keys():
    with pytest.raises(ValueError) as err:
        get_network("convnet", 3, NUM_CLASSES, dropout=0.5)
    for key in ("width", "depth", "norm", "act", "pooling"):
        assert key in str(err.value)


def test_non_convnet_rejects_overrides():
    with pytest.raises(ValueError):
        get_network("resnet18", 3, NUM_CLASSES, width=64)


def test_instancenorm_output_independent_of_batch_composition():
    net = get_network("convnet", 3, NUM_CLASSES).train()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        alone = net(x[:1])
        in_batch = net(x)[:1]
    torch.testing.assert_close(alone, in_batch)


def test_batchnorm_train_mode_output_depends_on_batch_composition():
    net = get_network("convnet_bn", 3, NUM_CLASSES).train()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        a = net(x[:2])[:1]
        b = net(torch.cat([x[:1], x[2:]]))[:1]
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("name", ["convnet", "mlp", "resnet18_ap"])
def test_embed_accepts_non_contiguous_input(name):
    net = get_network(name, 3, NUM_CLASSES)
    base = torch.randn(2, 32, 32, 3)
    x = base.permute(0, 3, 1, 2).flip(-1)  # (N, C, H, W) view, not contiguous
    assert not x.is_contiguous()
    with torch.no_grad():
        # A strided view may take another conv kernel (a different summation
        # order): equal up to float32 rounding, which grows over ResNet-18's
        # 17 unpooled conv layers (features up to ~6, differences ~5e-5).
        torch.testing.assert_close(net.embed(x), net.embed(x.contiguous()), rtol=1e-4, atol=1e-4)
        assert net(x).shape == (2, NUM_CLASSES)


def test_convnet_width_override_sets_filters_and_feature_size():
    net = get_network("convnet", 3, NUM_CLASSES, width=32)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.out_channels == 32 for c in convs)
    assert net.classifier.in_features == 32 * 4 * 4


def test_convnet_depth_override_sets_number_of_blocks():
    net = get_network("convnet", 3, NUM_CLASSES, depth=2)
    assert sum(isinstance(m, nn.Conv2d) for m in net.modules()) == 2
    assert net.classifier.in_features == 128 * 8 * 8


@pytest.mark.parametrize(
    "norm, layer",
    [
        ("batchnorm", nn.BatchNorm2d),
        ("layernorm", nn.LayerNorm),
        ("instancenorm", nn.GroupNorm),
        ("groupnorm", nn.GroupNorm),
    ],
)
def test_convnet_norm_override_sets_norm_layer(norm, layer):
    net = get_network("convnet", 3, NUM_CLASSES, norm=norm)
    norms = [m for m in net.features if isinstance(m, layer)]
    assert len(norms) == 3
    if norm == "instancenorm":
        assert all(m.num_groups == m.num_channels == 128 and m.affine for m in norms)
    if norm == "groupnorm":
        assert all(m.num_groups == 4 for m in norms)
    if norm == "layernorm":
        # Normalises over each block's full (C, H, W) feature shape.
        assert [tuple(m.normalized_shape) for m in norms] == [(128, 32, 32), (128, 16, 16), (128, 8, 8)]


def test_convnet_norm_none_has_no_norm_layers():
    net = get_network("convnet", 3, NUM_CLASSES, norm="none")
    assert [type(m) for m in net.features[:3]] == [nn.Conv2d, nn.ReLU, nn.AvgPool2d]


@pytest.mark.parametrize(
    "act, layer", [("sigmoid", nn.Sigmoid), ("relu", nn.ReLU), ("leakyrelu", nn.LeakyReLU)]
)
def test_convnet_act_override_sets_activation(act, layer):
    net = get_network("convnet", 3, NUM_CLASSES, act=act)
    acts = [m for m in net.features if isinstance(m, layer)]
    assert len(acts) == 3
    if act == "leakyrelu":
        assert all(m.negative_slope == 0.01 for m in acts)


@pytest.mark.parametrize(
    "pooling, layer, feat",
    [("maxpooling", nn.MaxPool2d, 4), ("avgpooling", nn.AvgPool2d, 4), ("none", None, 32)],
)
def test_convnet_pooling_override_sets_pooling_and_feature_size(pooling, layer, feat):
    net = get_network("convnet", 3, NUM_CLASSES, pooling=pooling, width=8)
    pools = [m for m in net.features if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d))]
    if layer is None:
        assert pools == []
    else:
        assert len(pools) == 3 and all(type(p) is layer for p in pools)
    assert net.classifier.in_features == 8 * feat * feat


def test_convnet_suffixes_pick_depth_and_norm():
    assert get_network("convnet_d4", 3, NUM_CLASSES).depth == 4
    d4_bn = get_network("convnet_d4_bn", 3, NUM_CLASSES)
    assert d4_bn.depth == 4 and d4_bn.norm == "batchnorm"
    assert isinstance(get_network("convnet", 3, NUM_CLASSES), ConvNet)


def test_resnet18_ap_has_no_stride2_convs():
    net = get_network("resnet18_ap", 3, NUM_CLASSES)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.stride == (1, 1) for c in convs)
    assert sum(isinstance(m, nn.AvgPool2d) for m in net.modules()) == 6  # 3 main + 3 shortcut


# The authors' ResNet18_AP (and ResNet18BN_AP, whose BatchNorm has as many
# learnable parameters as the one-group-per-channel instance norm) at
# 10 classes: Linear(512*3*3, 10) at 1x28x28, Linear(512*4*4, 10) at 3x32x32.
@pytest.mark.parametrize("name", ["resnet18_ap", "resnet18_ap_bn"])
@pytest.mark.parametrize(
    "shape, expected", [((1, 28, 28), 11_213_770), ((3, 32, 32), 11_250_762)], ids=["1x28x28", "3x32x32"]
)
def test_resnet18_ap_has_the_authors_parameter_count(name, shape, expected):
    c, h, w = shape
    assert _num_params(get_network(name, c, NUM_CLASSES, (h, w))) == expected


@pytest.mark.parametrize("im_size, side", [((28, 28), 3), ((32, 32), 4)])
def test_resnet18_ap_classifier_reads_the_unpooled_final_feature_map(im_size, side):
    net = get_network("resnet18_ap", 3, NUM_CLASSES, im_size)
    assert net.classifier.in_features == 512 * side * side


def test_resnet18_keeps_global_pooling_and_its_parameter_count():
    # the standard variant is untouched: Linear(512, C) after global average pooling
    assert _num_params(get_network("resnet18", 1, NUM_CLASSES, (28, 28))) == 11_172_810
    assert _num_params(get_network("resnet18", 3, NUM_CLASSES, (32, 32))) == 11_173_962


def test_resnet18_downsamples_with_stride2_convs():
    net = get_network("resnet18", 3, NUM_CLASSES)
    assert sum(c.stride == (2, 2) for c in net.modules() if isinstance(c, nn.Conv2d)) == 6


@pytest.mark.parametrize(
    "name, expected",
    [("convnet", False), ("convnet_bn", True), ("resnet18_ap", False), ("resnet18_ap_bn", True),
     ("alexnet_bn", True), ("vgg11", False), ("mlp", False)],
)
def test_has_batchnorm(name, expected):
    assert has_batchnorm(get_network(name, 3, NUM_CLASSES)) is expected


def test_alexnet_bn_puts_batchnorm_after_every_conv():
    net = get_network("alexnet_bn", 3, NUM_CLASSES)
    layers = list(net.features)
    convs = [i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5
    assert all(isinstance(layers[i + 1], nn.BatchNorm2d) for i in convs)


def test_alexcifarnet_is_dds_two_conv_stages_with_local_response_norm_and_fc_384_192():
    net = get_network("alexcifarnet", 3, NUM_CLASSES, (32, 32))
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size) for c in convs] == [(64, (5, 5)), (64, (5, 5))]
    assert sum(isinstance(m, torch.nn.LocalResponseNorm) for m in net.modules()) == 2
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(64 * 8 * 8, 384), (384, 192), (192, NUM_CLASSES)]
    assert not has_batchnorm(net)

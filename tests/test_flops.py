"""course_utils.flops against multiply-adds counted by hand."""

from __future__ import annotations

import keras
import pytest

from course_utils import flops


def test_a_small_convnet_trained_whole():
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    conv = 6 * 6 * (3 * 3 * 3) * 4  # 36 positions x a 3x3x3 window x 4 filters = 3,888
    dense = 144 * 10
    assert [c.macs for c in flops.layer_costs(model)] == [conv, dense]
    assert flops.forward_macs(model) == conv + dense
    # the first layer needs no gradient for its input; the dense layer needs all three passes
    assert flops.training_macs(model) == 2 * conv + 3 * dense
    assert flops.fit_flops(model, examples=100, epochs=3, validation_examples=10) == 2 * 3 * (
        100 * (2 * conv + 3 * dense) + 10 * (conv + dense)
    )


def test_a_frozen_base_costs_only_its_forward_pass():
    base = keras.Sequential(
        [keras.Input((16, 16, 1)), keras.layers.Conv2D(2, 3, strides=2, padding="same")],
        name="base",
    )
    base.trainable = False
    inputs = keras.Input((16, 16, 1))
    x = base(inputs)
    x = keras.layers.SeparableConv2D(4, 3, padding="same")(x)
    up = keras.layers.Conv2DTranspose(3, 2, strides=2)(x)
    outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(up))
    model = keras.Model(inputs, outputs)
    frozen = 8 * 8 * 9 * 1 * 2
    separable = 8 * 8 * 9 * 2 + 8 * 8 * 2 * 4  # depthwise, then pointwise
    transposed = 8 * 8 * 4 * 4 * 3  # each input position scatters a 2x2x3 patch per channel
    dense = 3 * 1
    costs = flops.layer_costs(model)
    assert [(c.macs, c.trainable) for c in costs] == [
        (frozen, False),
        (separable, True),
        (transposed, True),
        (dense, True),
    ]
    assert flops.training_macs(model) == frozen + 2 * separable + 3 * transposed + 3 * dense


def test_an_unknown_input_size_is_refused_with_what_to_do():
    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(4, 3)])
    with pytest.raises(ValueError, match="fixed input size"):
        flops.forward_macs(model)


def test_resnet50_counts_what_its_paper_reports():
    # He et al. 2015 (Deep Residual Learning, Table 1): ResNet-50 is 3.8 x 10^9 multiply-adds
    # ("FLOPs" there) for one 224x224 image
    model = keras.applications.ResNet50(weights=None)
    assert flops.forward_macs(model) == pytest.approx(3.8e9, rel=0.02)

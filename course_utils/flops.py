"""How much arithmetic a Keras model does: multiply-adds per example, counted layer by layer from
the model's own shapes, and what one training example costs forward and backward.

A multiply-add (MAC) is one multiplication and one addition: 2 floating-point operations. Only
the layers that do a network's real work are counted (dense, convolutions, transposed and
separable convolutions); normalisation, activations, pooling and resizing are elementwise and
cost far less. Training an example costs its forward pass, plus for each layer a pass of about
the same size to compute the gradient of its weights (when it is trainable) and another to pass
the gradient on to its input (when a trainable layer lies below it): for a network trained whole,
about three forward passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LayerCost:
    """One counted layer: its name, multiply-adds per example, and whether it trains."""

    name: str
    macs: int
    trainable: bool


def _shape(tensor: Any) -> tuple[int, ...]:
    """A symbolic tensor's shape without the batch dimension."""
    shape = tuple(tensor.shape)[1:]
    if any(d is None for d in shape):
        raise ValueError(
            f"cannot count a layer whose shape {tuple(tensor.shape)} has unknown "
            "sizes: build the model on a fixed input size"
        )
    return tuple(int(d) for d in shape)


def layer_macs(layer: Any) -> int:
    """Multiply-adds per example of one (built, called) layer; 0 for layers not counted."""
    kind = type(layer).__name__
    if kind not in (
        "Dense",
        "Conv1D",
        "Conv2D",
        "Conv3D",
        "DepthwiseConv2D",
        "SeparableConv2D",
        "Conv2DTranspose",
        "Conv1DTranspose",
        "Conv3DTranspose",
    ):
        return 0
    inputs, outputs = _shape(layer.input), _shape(layer.output)
    if kind == "Dense":
        return math.prod(inputs) * outputs[-1]
    kernel = math.prod(layer.kernel_size)
    c_in = inputs[-1]
    if kind in ("Conv1D", "Conv2D", "Conv3D"):
        return math.prod(outputs[:-1]) * kernel * (c_in // layer.groups) * outputs[-1]
    if kind == "DepthwiseConv2D":
        return math.prod(outputs[:-1]) * kernel * c_in * layer.depth_multiplier
    if kind == "SeparableConv2D":
        depthwise = math.prod(outputs[:-1]) * kernel * c_in * layer.depth_multiplier
        return depthwise + math.prod(outputs[:-1]) * c_in * layer.depth_multiplier * outputs[-1]
    # transposed: every input position scatters a kernel-sized patch into every output channel
    return math.prod(inputs[:-1]) * kernel * c_in * outputs[-1]


def layer_costs(model: Any) -> list[LayerCost]:
    """Every counted layer of a model, nested models opened, in the order data flows through."""
    costs = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:  # a model (or a Sequential) inside
            inner = layer_costs(layer)
            if not layer.trainable:
                inner = [LayerCost(c.name, c.macs, False) for c in inner]
            costs += inner
        else:
            macs = layer_macs(layer)
            if macs:
                costs.append(
                    LayerCost(layer.name, macs, bool(layer.trainable and layer.trainable_weights))
                )
    return costs


def forward_macs(model: Any) -> int:
    """Multiply-adds of one example's forward pass."""
    return sum(c.macs for c in layer_costs(model))


def training_macs(model: Any) -> int:
    """Multiply-adds of one training example: forward, weight gradients of the trainable layers,
    and input gradients of every layer above the first trainable one."""
    total, below = 0, False
    for cost in layer_costs(model):
        total += cost.macs
        if cost.trainable:
            total += cost.macs  # the gradient of its weights
        if below:
            total += cost.macs  # the gradient passed on to its input, for a trainable layer below
        below = below or cost.trainable
    return total


def fit_flops(model: Any, examples: int, epochs: int, validation_examples: int = 0) -> float:
    """Floating-point operations of a `fit`: training and validation passes over its epochs."""
    per_epoch = examples * training_macs(model) + validation_examples * forward_macs(model)
    return 2.0 * per_epoch * epochs

"""Seeing what a convnet learned: intermediate activations, filter patterns, Grad-CAM.

Every function works on functional models, Sequential models, and models that hold a
pretrained base as a nested layer. The trick is the same for all three: rebuild the model as
one functional graph that also returns the outputs of the layers we want to look at
(`tap_model`). Grad-CAM then needs nothing else: one forward pass gives the conv maps and the
class score, and the backend's own gradient (`tf.GradientTape`, `jax.grad`, `torch.autograd`)
gives the gradient between them. Every function here works on every Keras backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

# Keras (and the backend's own framework) is imported inside the functions, so importing
# course_utils stays cheap and `env.setup()` can choose the backend before Keras is imported.
if TYPE_CHECKING:
    import keras


def _conv_types() -> tuple[type[Any], ...]:
    from keras import layers

    return (layers.Conv2D, layers.SeparableConv2D, layers.DepthwiseConv2D, layers.Conv2DTranspose)


def _is_container(layer: object) -> bool:
    import keras

    return isinstance(layer, keras.Model)


def _walk(model: keras.Model) -> list:
    """Every layer of `model`, nested models opened up, in order."""
    found = []
    for layer in model.layers:
        found.append(layer)
        if _is_container(layer):
            found.extend(_walk(layer))
    return found


def conv_layer_names(model: keras.Model) -> list[str]:
    """Names of the model's 2D conv layers (nested models included), first to last."""
    return [layer.name for layer in _walk(model) if isinstance(layer, _conv_types())]


def find_layer(model: keras.Model, name: str, conv_only: bool = False) -> keras.layers.Layer:
    """The layer called `name` anywhere in `model`; a clear error listing its conv layers if
    not."""
    matches = [layer for layer in _walk(model) if layer.name == name]
    convs = conv_layer_names(model)
    listing = ", ".join(convs) if convs else "none: this model has no Conv2D-type layer"
    if not matches:
        raise ValueError(
            f"Model '{model.name}' has no layer called {name!r}. Its conv layers are: {listing}"
        )
    layer = matches[0]
    if conv_only and not isinstance(layer, _conv_types()):
        raise ValueError(
            f"Layer {name!r} of model '{model.name}' ({type(layer).__name__}) is not a conv "
            "layer; "
            f"Grad-CAM needs the output of a conv layer. Its conv layers are: {listing}"
        )
    return layer


def _contains(model: keras.Model, name: str) -> bool:
    return any(layer.name == name for layer in _walk(model))


def _output_layer(model: keras.Model) -> keras.layers.Layer:
    """The layer that makes the model's output (inside nested models too)."""
    last = model.layers[-1]
    return _output_layer(last) if _is_container(last) else last


def _squashes(layer: keras.layers.Layer) -> bool:
    """True for a layer that ends in a softmax or a sigmoid (a Dense with one, Activation,
    Softmax)."""
    from keras import activations, layers

    if isinstance(layer, layers.Softmax):
        return True
    return getattr(layer, "activation", None) in (activations.softmax, activations.sigmoid)


def _linear_copy(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A copy of `layer` without its activation (an Identity for a bare activation layer)."""
    from keras import layers

    if isinstance(layer, (layers.Softmax, layers.Activation, layers.ReLU)):
        return layers.Identity(name=f"{layer.name}_linear")
    config = {**layer.get_config(), "activation": "linear", "name": f"{layer.name}_linear"}
    return type(layer).from_config(config)  # the weights are copied in once it is built


def rebuild_with_taps(
    model: keras.Model, names: Sequence[str], replace: dict | None = None
) -> tuple:
    """Call `model`'s layers one by one on a new Input; return (input, output, {name: tensor}).

    A nested model that holds a wanted layer is rebuilt the same way, recursively, so its
    inner outputs become reachable from the outer input. `replace` maps layer names to
    stand-in layers (same weights, e.g. without the softmax) used instead of the originals.
    """
    import keras

    replace = replace or {}
    taps: dict = {}

    def call(layer, *args, **kwargs):
        inside = [n for n in [*names, *replace] if _is_container(layer) and _contains(layer, n)]
        if inside:  # a nested model that holds layers we want: rebuild it too
            wanted = [n for n in names if n in inside]
            stand_ins = {n: r for n, r in replace.items() if n in inside}
            out, *inner_taps = _tap(layer, wanted, with_output=True, replace=stand_ins)(
                *args, **kwargs
            )
            taps.update(zip(wanted, inner_taps, strict=True))
        elif layer.name in replace:  # a stand-in: called once to build it, then given the weights
            out = replace[layer.name](*args, **kwargs)
            replace[layer.name].set_weights(layer.get_weights())
        else:
            out = layer(*args, **kwargs)
        if layer.name in names:
            taps[layer.name] = out
        return out

    if isinstance(model, keras.Sequential):
        if not model.built or not model.inputs:
            raise ValueError(
                f"Sequential model '{model.name}' has no input shape yet: start it with "
                "keras.Input(shape=...) or call it on one batch of data first."
            )
        inputs = keras.Input(shape=tuple(model.inputs[0].shape[1:]))
        x = inputs
        for layer in model.layers:  # Keras 3 leaves the InputLayer out of .layers
            x = call(layer, x)
        return inputs, x, taps
    if not getattr(model, "inputs", None):
        raise ValueError(
            f"'{model.name}' is subclassed: build it with the functional API or Sequential."
        )
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            f"'{model.name}' has several inputs or outputs; these tools need one of each."
        )
    # A functional model: Keras re-runs its graph with the same layer objects (so the same
    # weights), and `call` records the tensors we want on the way.
    clone = keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)
    return clone.inputs[0], clone.outputs[0], taps


def _tap(
    model: keras.Model, names: Sequence[str], with_output: bool, replace: dict | None = None
) -> keras.Model:
    import keras

    inputs, output, taps = rebuild_with_taps(model, names, replace)
    outputs = [taps[name] for name in names]
    if with_output:
        outputs = [output] + outputs
    return keras.Model(inputs, outputs)


def tap_model(
    model: keras.Model,
    layer_names: Sequence[str],
    with_output: bool = False,
    logits: bool = False,
    before_activation: bool = False,
) -> keras.Model:
    """A functional model returning the outputs of `layer_names` (after the model's output if
    `with_output`).

    `logits`: the model's output is taken before a final softmax or sigmoid.
    `before_activation`: the named layers' outputs are taken before their activation (ReLU).
    """
    names = list(layer_names)
    replace = {}
    for name in names:
        layer = find_layer(model, name)
        if before_activation:
            replace[name] = _linear_copy(layer)
    last = _output_layer(model)
    if logits and _squashes(last):
        replace[last.name] = _linear_copy(last)
    return _tap(model, names, with_output, replace)


# ---- 1. intermediate activations -------------------------------------------------------


def layer_activations(
    model: keras.Model, image: np.ndarray, layer_names: Sequence[str]
) -> dict[str, np.ndarray]:
    """Outputs of the named layers for one image (already preprocessed), as {name: (h, w,
    channels)}."""
    import keras

    taps = tap_model(model, layer_names)
    outputs = taps(np.asarray(image, dtype="float32")[None], training=False)
    if len(layer_names) == 1:
        outputs = [outputs]
    return {
        name: keras.ops.convert_to_numpy(out)[0]
        for name, out in zip(layer_names, outputs, strict=True)
    }


def _to_display(channel: np.ndarray) -> np.ndarray:
    """One feature map in 0..1 for display; a blank (constant) map shows as 0."""
    return np.zeros_like(channel) if channel.std() < 1e-8 else to_displayable(channel)


def plot_activation_grid(
    activation: np.ndarray,
    ncols: int = 16,
    max_channels: int = 64,
    title: str | None = None,
    size: float = 0.9,
) -> plt.Figure:
    """The first `max_channels` channels of one layer's (h, w, channels) output as a grid of
    images."""
    if activation.ndim != 3:
        raise ValueError(
            f"expected one image's feature maps (h, w, channels), got shape {activation.shape}"
        )
    n = min(max_channels, activation.shape[-1])
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows + 0.4), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(_to_display(activation[..., i]), cmap="viridis", vmin=0, vmax=1)
    dead = int(sum(activation[..., i].std() < 1e-8 for i in range(n)))
    fig.suptitle(f"{title or ''}  ({n} of {activation.shape[-1]} channels, {dead} blank)".strip())
    fig.tight_layout()
    return fig


# ---- 2. filter patterns by gradient ascent ---------------------------------------------


def filter_patterns(
    model: keras.Model,
    layer_name: str,
    filter_indices: Sequence[int],
    size: int = 64,
    steps: int = 30,
    step_size: float = 4.0,
    preprocess: Callable | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, size, size, 3) in 0..1 that each excite one filter, and each filter's final
    response.

    Gradient ascent in pixel space (0..255 RGB), from grey noise; `preprocess` (for example
    `keras.applications.vgg16.preprocess_input`) turns pixels into what the model expects.
    The response is the filter's mean output before its ReLU, away from the borders: after
    the ReLU, a filter that is silent on the start image has no gradient to follow. All
    filters are optimised at once, one image per filter, in a single batch. Every backend: the
    gradient step is compiled with its own mechanism (`tf.function` + `tf.GradientTape`,
    `jax.jit` + `jax.grad` on the model's `stateless_call`, `torch.autograd`).
    """
    from keras import ops

    features = tap_model(model, [layer_name], before_activation=True)
    depth = features.outputs[0].shape[-1]
    filter_indices = list(filter_indices)
    bad = [f for f in filter_indices if not 0 <= f < depth]
    if bad:
        raise ValueError(f"{layer_name} has {depth} filters (0..{depth - 1}); got {bad}")
    which = np.eye(depth, dtype="float32")[filter_indices]  # (N, depth): each image's own filter

    def response(maps):  # (N,): each image's own filter, mean over the inner part of the map
        inner = ops.mean(maps[:, 2:-2, 2:-2, :], axis=(1, 2))  # borders give artefacts
        return ops.sum(inner * which, axis=1)

    prepare = preprocess or (lambda pixels: pixels)
    # grey, with a little noise: the same start image on every backend
    rng = np.random.default_rng(seed)
    pixels = rng.uniform(0.4 * 255, 0.6 * 255, (len(filter_indices), size, size, 3)).astype(
        "float32"
    )
    ascend = _ascent_step(features, response, prepare, step_size)
    for _ in range(steps):
        pixels = ascend(pixels)
    pixels = ops.convert_to_numpy(pixels)
    final = ops.convert_to_numpy(
        response(features(prepare(ops.convert_to_tensor(pixels)), training=False))
    )
    margin = max(2, size // 16)  # the outermost pixels feel the zero padding: leave them out
    images = [to_displayable(p[margin:-margin, margin:-margin]) for p in pixels]
    return np.stack(images), final


def _ascent_step(
    features: keras.Model, response: Callable, prepare: Callable, step_size: float
) -> Callable:
    """One step of gradient ascent on the pixels, compiled by this backend's own mechanism.

    Images do not interact, so the gradient of the sum of the responses gives each image its
    own gradient; it is normalised per image (RMS = 1), so every step moves the pixels by about
    `step_size` whatever the layer's scale.
    """
    import keras

    def normalised(grads):
        rms = (
            keras.ops.sqrt(keras.ops.mean(keras.ops.square(grads), axis=(1, 2, 3), keepdims=True))
            + 1e-8
        )
        return step_size * grads / rms

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function  # one compiled step: eager Keras calls would cost more than the maths
        def tf_step(pixels):
            with tf.GradientTape() as tape:
                tape.watch(pixels)
                score = tf.reduce_sum(response(features(prepare(pixels), training=False)))
            return pixels + normalised(tape.gradient(score, pixels))

        return lambda pixels: tf_step(tf.convert_to_tensor(pixels))
    if backend == "jax":
        import jax

        trainable = [v.value for v in features.trainable_variables]
        fixed = [v.value for v in features.non_trainable_variables]

        def score(pixels, trainable, fixed):
            maps, _ = features.stateless_call(trainable, fixed, prepare(pixels), training=False)
            return jax.numpy.sum(response(maps))

        @jax.jit  # the weights are arguments, not constants baked into the compiled step
        def jax_step(pixels, trainable, fixed):
            return pixels + normalised(jax.grad(score)(pixels, trainable, fixed))

        return lambda pixels: jax_step(jax.numpy.asarray(pixels), trainable, fixed)
    from course_utils import backends

    def step(pixels):  # PyTorch: eager autograd
        value_grad = backends.gradient(
            lambda p: keras.ops.sum(response(features(prepare(p), training=False))), pixels
        )
        return keras.ops.convert_to_tensor(pixels) + normalised(value_grad[1])

    return step


def to_displayable(image: np.ndarray) -> np.ndarray:
    """Standardise an optimised image and squeeze it into 0..1 for display."""
    p = image - image.mean()
    return np.clip(p / (p.std() + 1e-8) * 0.15 + 0.5, 0, 1)


# ---- 3. Grad-CAM -------------------------------------------------------------------------


def grad_cam(
    model: keras.Model,
    images: np.ndarray,
    layer_name: str | None = None,
    class_index: int | Sequence[int] | None = None,
    use_logits: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM heatmaps (N, h, w) in 0..1 for a batch of preprocessed images, and the classes
    used.

    `layer_name` defaults to the last conv layer; `class_index` (one, or one per image) to
    each image's top class. As in the Grad-CAM paper, the class score is taken before a final
    softmax (or sigmoid): after a softmax, the gradient mixes in the other classes. Works on
    every Keras backend (the gradient by `tf.GradientTape`, `jax.grad` or `torch.autograd`).
    """
    layer_name = layer_name or _last_conv(model)
    layer = find_layer(model, layer_name, conv_only=True)
    both = tap_model(model, [layer_name], with_output=True, logits=use_logits)
    num_classes = int(both.outputs[0].shape[-1])
    # checked first: on a GPU, tf.gather gives 0 for a wrong index
    indices = (
        None if class_index is None else _class_indices(class_index, num_classes, len(images))
    )
    conv, grads, classes = _conv_and_gradients(
        both, layer, np.asarray(images, dtype="float32"), indices
    )
    weights = grads.mean(axis=(1, 2), keepdims=True)  # how much each channel matters
    cam = np.maximum((conv * weights).sum(axis=-1), 0.0)  # (N, h, w), keep positive evidence
    peak = cam.max(axis=(1, 2), keepdims=True)
    cam = np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)  # no evidence stays 0
    return cam.astype("float32"), classes


def _conv_and_gradients(
    both: keras.Model, layer, x: np.ndarray, class_index: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(conv maps, d class score / d conv maps, classes) as NumPy arrays, for Grad-CAM.

    Only the layers after the conv layer need gradients: its output is cut from the graph
    (`stop_gradient`) and a zero is added to it, and the score is differentiated with respect
    to that zero. Cheaper, and it avoids a crash in TensorFlow's CPU kernels on some 1x1
    stride-2 convolutions (fer's model). The images do not interact, so the gradient of the
    sum of their scores gives each image its own gradient.
    """
    import keras
    from keras import ops

    plain_call = layer.call
    found: dict = {}

    def score(zero):
        def call_and_mark(*args, **kwargs):
            found["conv"] = ops.stop_gradient(plain_call(*args, **kwargs))
            return found["conv"] + zero

        layer.call = call_and_mark
        try:
            preds, _ = both(x, training=False)
        finally:
            del layer.call  # the class's own call again
        classes = (
            ops.argmax(preds, axis=-1)
            if class_index is None
            else ops.convert_to_tensor(np.broadcast_to(class_index, (len(x),)))
        )
        classes = ops.cast(classes, "int32")
        return ops.sum(ops.take_along_axis(preds, classes[:, None], axis=1)), (
            found["conv"],
            classes,
        )

    # the conv maps' shape for these images, inferred without computing anything
    zero_shape = tuple(both.compute_output_spec(keras.KerasTensor(x.shape, "float32"))[1].shape)
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        zero = jax.numpy.zeros(zero_shape, "float32")
        grads, (conv, classes) = jax.grad(score, has_aux=True)(zero)
    elif backend == "tensorflow":
        import tensorflow as tf

        zero = tf.zeros(zero_shape)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(zero)
            value, (conv, classes) = score(zero)
        grads = tape.gradient(value, zero)
    else:  # PyTorch
        import torch

        zero = torch.zeros(zero_shape, requires_grad=True, device=ops.convert_to_tensor(x).device)
        value, (conv, classes) = score(zero)
        value.backward()
        grads = zero.grad
    return (
        ops.convert_to_numpy(conv),
        ops.convert_to_numpy(grads),
        ops.convert_to_numpy(classes).astype("int32"),
    )


def _class_indices(class_index: int | Sequence[int], num_classes: int, batch: int) -> np.ndarray:
    """`class_index` (one int, or one per image) as an int array, checked against the model."""
    given = np.asarray(class_index)
    if given.ndim > 1 or not (np.issubdtype(given.dtype, np.integer) and given.size):
        raise ValueError(
            f"class_index={class_index!r}: pass one class number, or one per image "
            f"(a list of {batch} ints)"
        )
    if given.ndim == 1 and len(given) != batch:
        raise ValueError(
            f"class_index has {len(given)} entries for {batch} images: pass one "
            "class number for all, or one per image"
        )
    bad = sorted({int(c) for c in given.reshape(-1) if not 0 <= c < num_classes})
    if bad:
        raise ValueError(
            f"class_index {bad[0] if len(bad) == 1 else bad} is out of range: the "
            f"model has {num_classes} classes, numbered 0..{num_classes - 1}"
        )
    return given.astype("int32")


def _last_conv(model: keras.Model) -> str:
    names = conv_layer_names(model)
    if not names:
        raise ValueError(f"Model '{model.name}' has no conv layer: Grad-CAM needs one.")
    return names[-1]


def _one_heatmap(heatmap: np.ndarray) -> np.ndarray:
    """`heatmap` as float32 if it is one (h, w) map; a clear error for a batch or other shapes."""
    heatmap = np.asarray(heatmap, "float32")
    if heatmap.ndim != 2:
        batch = (
            " (grad_cam returns a batch: pass one map, e.g. heatmaps[0])"
            if heatmap.ndim == 3
            else ""
        )
        raise ValueError(f"expected one heatmap of shape (h, w), got shape {heatmap.shape}{batch}")
    return heatmap


def upsample_heatmap(heatmap: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A (h, w) heatmap resized bilinearly to `size` = (height, width)."""
    from keras import ops

    big = ops.image.resize(_one_heatmap(heatmap)[..., None], size, interpolation="bilinear")
    return ops.convert_to_numpy(big)[..., 0]


def heatmap_peak(heatmap: np.ndarray, size: tuple[int, int]) -> tuple[int, int]:
    """(row, col) in an image of `size` = (height, width) where the upsampled heatmap is
    largest."""
    big = upsample_heatmap(heatmap, size)
    row, col = np.unravel_index(int(np.argmax(big)), big.shape)
    return int(row), int(col)


def overlay_heatmap(
    image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.4, colormap: str = "jet"
) -> np.ndarray:
    """The image (H, W[, C], 0..255 or 0..1) with the heatmap coloured and blended on top: uint8
    RGB.

    One image and one (h, w) heatmap: for a batch, call it once per image.
    """
    img = np.asarray(image, dtype="float32")
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[-1] in (1, 3))):
        raise ValueError(
            f"expected one image of shape (H, W), (H, W, 1) or (H, W, 3), got shape "
            f"{img.shape}: for a batch, pass one image at a time, e.g. images[0]"
        )
    heatmap = _one_heatmap(heatmap)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    if img.max() > 1.0:
        img = img / 255.0
    big = upsample_heatmap(heatmap, img.shape[:2])
    colours = matplotlib.colormaps[colormap](np.clip(big, 0, 1))[..., :3]
    blended = (1 - alpha) * img + alpha * colours
    return np.clip(blended * 255, 0, 255).astype("uint8")

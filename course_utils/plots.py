"""Plots every chapter uses: training curves and labelled image grids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import cast

import matplotlib.pyplot as plt
import numpy as np


def smooth_curve(values: Iterable[float], factor: float = 0.8) -> np.ndarray:
    """Exponential moving average: each point is factor * previous + (1 - factor) * value."""
    out, last = [], None
    for v in values:
        last = v if last is None else factor * last + (1 - factor) * v
        out.append(last)
    return np.asarray(out, dtype=float)


def plot_history(
    history: Mapping[str, Sequence[float]] | object,
    metrics: Sequence[str] = ("loss", "accuracy"),
    smooth: float | None = None,
    title: str | None = None,
) -> plt.Figure:
    """Training vs validation curves, one panel per metric; `smooth` applies an EMA.

    Accepts a Keras `History` object or its `.history` dict.
    """
    hist = cast(Mapping[str, Sequence[float]], getattr(history, "history", history))
    present = [m for m in metrics if m in hist]
    if not present:
        raise ValueError(f"None of {list(metrics)} in the history; it has {sorted(hist)}")
    fig, axes = plt.subplots(1, len(present), figsize=(5 * len(present), 3.5), squeeze=False)
    for ax, metric in zip(axes[0], present, strict=True):
        for key, style, label in (
            (metric, "o-", "training"),
            (f"val_{metric}", "s-", "validation"),
        ):
            if key not in hist:
                continue
            values = np.asarray(hist[key], dtype=np.float64)
            epochs = np.arange(1, len(values) + 1)
            if smooth:  # faint raw points, and the EMA line in the same colour
                (raw,) = ax.plot(epochs, values, style, alpha=0.25, markersize=3)
                ax.plot(
                    epochs,
                    smooth_curve(values, smooth),
                    "-",
                    color=raw.get_color(),
                    label=f"{label} (EMA {smooth})",
                )
            else:
                ax.plot(epochs, values, style, markersize=4, label=label)
        _epoch_axis(ax)
        ax.set_ylabel(metric)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _epoch_axis(ax: plt.Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers, from 1
    ax.grid(alpha=0.3)


def compare_histories(
    runs: Mapping[str, Mapping[str, Sequence[float]] | object],
    metrics: Sequence[str] = ("val_loss", "val_accuracy"),
    title: str | None = None,
    smooth: float | None = None,
    ylabels: Mapping[str, str] | None = None,
    legend_below: bool = False,
) -> plt.Figure:
    """Several runs on the same axes, one panel per metric (e.g. validation loss of each model).

    `runs` maps a label to a Keras `History`, its `.history` dict or a `TrainingRun`.
    `smooth` (e.g. 0.8) draws each curve as an exponential moving average (`smooth_curve`).
    `ylabels` names a metric's axis (default: the metric's key). `legend_below` draws one legend
    for the whole figure under the panels, where it covers no curve, instead of one per panel.
    """
    hists = {
        name: cast(Mapping[str, Sequence[float]], getattr(h, "history", h))
        for name, h in runs.items()
    }
    present = [m for m in metrics if any(m in h for h in hists.values())]
    if not present:
        raise ValueError(
            f"None of {list(metrics)} in any run; the first has "
            f"{sorted(next(iter(hists.values()), {}))}"
        )
    fig, axes = plt.subplots(
        1,
        len(present),
        figsize=(5 * len(present), 3.5 + 0.4 * legend_below),
        squeeze=False,
        layout="constrained" if legend_below else None,
    )
    handles: dict[str, plt.Line2D] = {}
    for ax, metric in zip(axes[0], present, strict=True):
        for name, hist in hists.items():
            if metric in hist:
                values = np.asarray(hist[metric], dtype=np.float64)
                if smooth:
                    values = smooth_curve(values, smooth)
                (handles[name],) = ax.plot(
                    np.arange(1, len(values) + 1), values, "o-", markersize=3, label=name
                )
        _epoch_axis(ax)
        ax.set_ylabel((ylabels or {}).get(metric, metric) + (f" (EMA {smooth})" if smooth else ""))
        if not legend_below:
            ax.legend(fontsize="small")
    if legend_below:  # the same colour is the same run in every panel, so one legend says it all
        fig.legend(
            list(handles.values()),
            list(handles),
            loc="outside lower center",
            ncol=min(len(handles), 5),
            fontsize="small",
        )
    if title:
        fig.suptitle(title)
    if not legend_below:
        fig.tight_layout()
    return fig


def show_filter_positions(
    width: int, filter_size: int, stride: int = 1, padding: int = 0, size: float = 1.3
) -> plt.Figure:
    """Every place an F x F filter sits on a W x W input (with P pixels of zero padding and a
    stride S), one small panel per output pixel, in output order: the picture behind
    (W - F + 2P) / S + 1."""
    from matplotlib.patches import Rectangle

    span = width - filter_size + 2 * padding
    if span < 0 or span % stride:
        raise ValueError(
            f"W={width}, F={filter_size}, P={padding}, S={stride} do not fit: "
            "(W - F + 2P) / S is not whole"
        )
    out, full = span // stride + 1, width + 2 * padding
    fig, axes = plt.subplots(out, out, figsize=(size * out, size * out), squeeze=False)
    for i in range(out):
        for j in range(out):
            ax = axes[i, j]
            grid = np.zeros((full, full))
            grid[padding : padding + width, padding : padding + width] = (
                1.0  # the input; 0 = padding
            )
            ax.imshow(grid, cmap="Greys", vmin=0, vmax=4, extent=(0, full, full, 0))
            ax.add_patch(
                Rectangle(
                    (j * stride, i * stride),
                    filter_size,
                    filter_size,
                    facecolor="tab:orange",
                    alpha=0.6,
                    edgecolor="tab:red",
                    lw=1.5,
                )
            )
            ax.set_xticks(range(full + 1), labels=[])
            ax.set_yticks(range(full + 1), labels=[])
            ax.tick_params(length=0)
            ax.grid(True, color="0.55", lw=0.5)
            ax.set_title(f"output ({i}, {j})", fontsize=8)
    fig.suptitle(
        f"{filter_size}x{filter_size} filter, {width}x{width} input (grey)"
        + (f", {padding} of padding (white)" if padding else "")
        + f"\nstride {stride}: {out}x{out} positions, {out}x{out} output"
    )
    fig.tight_layout()
    return fig


def draw_graph(
    nodes: Mapping[str, tuple[float, float, str]],
    edges: Sequence[tuple[str, str]],
    values: Mapping[str, float],
    grads: Mapping[str, float],
    title: str | None = None,
) -> plt.Figure:
    """A computational graph with its forward and backward pass written on the edges.

    `nodes`: name -> (x, y, text); a text of one operator character (+, *, ...) is drawn as a
    circle, anything else as a plain label. `edges`: (source, target) pairs. Each edge carries
    its source's forward value (green, above) and the gradient of the output with respect to
    that value (red, below). A node without outgoing edges (the output) shows both by itself.
    """
    sources = {src for src, _ in edges}
    for name in [*sources, *(n for n in nodes if n not in sources)]:
        if name not in values or name not in grads:
            raise ValueError(f"node {name!r} needs a forward value and a gradient")
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for src, dst in edges:
        (x0, y0, _), (x1, y1, _) = nodes[src], nodes[dst]
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops=dict(arrowstyle="-|>", color="0.3", lw=1.4, shrinkA=16, shrinkB=16),
        )
        mx, my = x0 + 0.4 * (x1 - x0), y0 + 0.4 * (y1 - y0)  # nearer the source: edges fan out
        ax.text(
            mx,
            my + 0.07,
            f"{values[src]:g}",
            color="tab:green",
            ha="center",
            va="bottom",
            fontsize=12,
            fontweight="bold",
        )
        ax.text(
            mx, my - 0.07, f"{grads[src]:g}", color="tab:red", ha="center", va="top", fontsize=12
        )
    for name, (x, y, text) in nodes.items():
        operator = len(text) == 1 and not text.isalnum()
        ax.text(
            x,
            y,
            "×" if text == "*" else text,
            ha="center",
            va="center",
            fontsize=15,
            bbox=dict(
                boxstyle="circle,pad=0.35" if operator else "round,pad=0.3",
                facecolor="#fff3d6" if operator else "white",
                edgecolor="0.3",
            ),
        )
        if name not in sources:  # the output: its value, and df/df = 1
            ax.text(
                x,
                y + 0.2,
                f"{name} = {values[name]:g}",
                color="tab:green",
                ha="center",
                va="bottom",
                fontsize=12,
                fontweight="bold",
            )
            ax.text(
                x, y - 0.2, f"{grads[name]:g}", color="tab:red", ha="center", va="top", fontsize=12
            )
    xs, ys = [x for x, _, _ in nodes.values()], [y for _, y, _ in nodes.values()]
    ax.set_xlim(min(xs) - 0.4, max(xs) + 0.4)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
    ax.axis("off")
    ax.set_title(
        (title + "\n" if title else "") + "green: forward values; red: gradients of the output",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def show_images(
    images: Sequence[np.ndarray] | np.ndarray,
    labels: Sequence[object] | None = None,
    ncols: int = 8,
    cmap: str | None = None,
    size: float = 1.6,
    title: str | None = None,
) -> plt.Figure:
    """A grid of images with optional labels; grey images use `cmap` (default 'gray').

    Each row gets room for its labels' lines above the images, and the layout keeps every label
    clear of the row above.
    """
    images = list(images)
    n = len(images)
    if n == 0:
        raise ValueError("show_images got no images")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    lines = (
        max((str(label).count("\n") + 1 for label in labels), default=0)
        if labels is not None
        else 0
    )
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols, (size + 0.2 * lines) * nrows + 0.3),
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = np.asarray(images[i])
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        if img.dtype != np.uint8 and img.max() > 1.0:
            img = img / 255.0  # float images in 0..255 (as Keras layers give) for imshow
        ax.imshow(img, cmap=cmap or ("gray" if img.ndim == 2 else None))
        if labels is not None:
            ax.set_title(str(labels[i]), fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def show_filters(
    kernels: np.ndarray, ncols: int = 8, size: float = 0.9, title: str | None = None
) -> plt.Figure:
    """Small (N, h, w) kernels (e.g. one input channel of conv weights) as separate framed tiles.

    Every tile shares one diverging colour scale centred on 0 (red positive, blue negative,
    white 0), explained by a colour bar, so tiles can be compared weight for weight.
    """
    kernels = np.asarray(kernels, dtype=float)
    if kernels.ndim != 3 or len(kernels) == 0:
        raise ValueError(f"expected kernels of shape (N, h, w), got {kernels.shape}")
    n, ncols = len(kernels), min(ncols, len(kernels))
    nrows = int(np.ceil(n / ncols))
    limit = float(np.abs(kernels).max()) or 1.0  # symmetric, so 0 is the middle of the map
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols + 1.0, size * nrows + 0.4),
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        shown = ax.imshow(kernels[i], cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color("0.35")  # a frame: a weight near 0 is white, like the page
    fig.colorbar(shown, ax=axes, shrink=0.9, label="weight")
    if title:
        fig.suptitle(title)
    return fig


def show_filter_responses(
    columns: Mapping[str, tuple[np.ndarray | None, np.ndarray]],
    size: float = 1.5,
    title: str | None = None,
) -> plt.Figure:
    """One column per entry, `name: (kernel, response)`: the kernel on top and the map it
    gives below, both on a diverging scale centred on 0 (red positive, blue negative), each
    panel scaled to its own largest value. An entry whose kernel is None shows its map in
    grey, named right above it: the image itself, or an edge map made another way.
    """
    if not columns:
        raise ValueError("show_filter_responses got no columns")
    n = len(columns)
    fig, axes = plt.subplots(
        2,
        n,
        figsize=(size * n, 2 * size + 0.6),
        squeeze=False,
        layout="constrained",
        height_ratios=(1, 1.4),
    )
    for j, (name, (kernel, response)) in enumerate(columns.items()):
        top, bottom = axes[0, j], axes[1, j]
        for ax in (top, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
        response = np.asarray(response, dtype=float)
        if kernel is None:
            top.axis("off")
            bottom.imshow(response, cmap="gray")
            bottom.set_title(name, fontsize=9)
            continue
        kernel = np.asarray(kernel, dtype=float)
        k_lim = float(np.abs(kernel).max()) or 1.0
        top.imshow(kernel, cmap="RdBu_r", vmin=-k_lim, vmax=k_lim)
        r_lim = float(np.abs(response).max()) or 1.0
        bottom.imshow(response, cmap="RdBu_r", vmin=-r_lim, vmax=r_lim)
        top.set_title(name, fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def show_heatmaps(
    panels: Mapping[str, np.ndarray],
    xlabel: str = "",
    ylabel: str = "",
    size: tuple[float, float] = (3.2, 2.2),
    title: str | None = None,
) -> plt.Figure:
    """2-D arrays side by side as heat maps on one shared scale (0 is white), one colour bar.

    For instance the same layer's outputs under different conditions: rows are images,
    columns units.
    """
    if not panels:
        raise ValueError("show_heatmaps got no panels")
    arrays = {name: np.asarray(a, dtype=float) for name, a in panels.items()}
    if any(a.ndim != 2 for a in arrays.values()):
        raise ValueError("show_heatmaps takes 2-D arrays (rows x columns)")
    high = max(float(a.max()) for a in arrays.values())
    low = min(0.0, min(float(a.min()) for a in arrays.values()))
    fig, axes = plt.subplots(
        1,
        len(arrays),
        figsize=(size[0] * len(arrays) + 1.0, size[1]),
        squeeze=False,
        layout="constrained",
    )
    for ax, (name, array) in zip(axes[0], arrays.items(), strict=True):
        shown = ax.imshow(
            array, cmap="Blues", vmin=low, vmax=high or 1.0, aspect="auto", interpolation="nearest"
        )
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(xlabel)
    axes[0, 0].set_ylabel(ylabel)
    fig.colorbar(shown, ax=axes, shrink=0.9)
    if title:
        fig.suptitle(title)
    return fig


def show_predictions(
    images: Sequence[np.ndarray] | np.ndarray,
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    size: float = 1.6,
    title: str | None = None,
) -> plt.Figure:
    """Images titled with their predicted class: green when right, red (with the truth) when
    wrong."""
    y_true, y_pred = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    if not len(y_true) == len(y_pred) == len(images):
        raise ValueError(
            f"{len(images)} images, {len(y_true)} labels, {len(y_pred)} predictions: "
            "give one label and one prediction per image"
        )

    def name(i: int) -> str:
        return str(class_names[i]) if class_names is not None else str(i)

    labels = [
        name(p) if p == t else f"{name(p)} (is {name(t)})"
        for t, p in zip(y_true, y_pred, strict=True)
    ]
    fig = show_images(images, labels, ncols=ncols, size=size, title=title)
    for ax, right in zip(fig.axes, y_true == y_pred, strict=False):
        ax.title.set_color("green" if right else "red")
    return fig


def plot_confusion(
    confusion: np.ndarray,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
) -> plt.Figure:
    """A confusion matrix as a heat map: rows are true classes, columns predicted, counts
    written in."""
    confusion = np.asarray(confusion)
    n = confusion.shape[0]
    if confusion.shape != (n, n):
        raise ValueError(f"a confusion matrix is square; got shape {confusion.shape}")
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    fig, ax = plt.subplots(figsize=(0.45 * n + 2.5, 0.45 * n + 2))
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(n), names, rotation=90 if n > 4 else 0)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), count in np.ndenumerate(confusion):
        ax.text(
            j,
            i,
            str(count),
            ha="center",
            va="center",
            fontsize=8,
            color="white" if count > confusion.max() / 2 else "black",
        )
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


# One colour per class of a label map: 0 (background) is left untinted.
LABEL_PALETTE = np.array(
    [
        [0, 0, 0],
        [230, 60, 60],
        [60, 200, 80],
        [70, 110, 240],
        [240, 200, 40],
        [200, 80, 220],
        [40, 200, 220],
    ],
    np.float32,
)


def overlay_labels(
    image: np.ndarray, mask: np.ndarray, alpha: float = 0.55, ignore_label: int = 255
) -> np.ndarray:
    """RGB uint8 image with each class > 0 of `mask` tinted in its colour; ignored pixels white."""
    image, mask = np.asarray(image), np.asarray(mask)
    if image.shape[:2] != mask.shape:
        raise ValueError(f"mask {mask.shape} does not cover the image {image.shape[:2]}")
    out = image.astype(np.float32)
    for cls in range(1, len(LABEL_PALETTE)):
        out[mask == cls] = (1 - alpha) * out[mask == cls] + alpha * LABEL_PALETTE[cls]
    known = (mask < len(LABEL_PALETTE)) | (mask == ignore_label)
    if not known.all():
        raise ValueError(
            f"overlay_labels colours classes 0-{len(LABEL_PALETTE) - 1}; "
            f"the mask also holds {sorted(set(np.unique(mask[~known]).tolist()))}"
        )
    out[mask == ignore_label] = 255
    return out.astype(np.uint8)


BACKGROUND_GREY = np.array([215, 215, 215], np.float32)  # class 0 in a solid label map


def label_map_rgb(mask: np.ndarray, ignore_label: int = 255) -> np.ndarray:
    """A label map as a solid RGB picture: class 0 light grey, class k LABEL_PALETTE[k], ignored
    white."""
    mask = np.asarray(mask)
    known = (mask < len(LABEL_PALETTE)) | (mask == ignore_label)
    if not known.all():
        raise ValueError(
            f"label_map_rgb colours classes 0-{len(LABEL_PALETTE) - 1}; "
            f"the mask also holds {sorted(set(np.unique(mask[~known]).tolist()))}"
        )
    palette = np.vstack([BACKGROUND_GREY, LABEL_PALETTE[1:]]).astype(np.uint8)
    out = palette[np.where(mask == ignore_label, 0, mask)]
    out[mask == ignore_label] = 255
    return out


WRONG_PIXEL = np.array(
    [0, 0, 0], np.uint8
)  # black: no class is drawn black (class 0 is grey or untinted)


def error_map(truth: np.ndarray, predicted: np.ndarray, ignore_label: int = 255) -> np.ndarray:
    """RGB pictures of where a prediction is wrong: black wrong, grey right, white ignored.

    Black is no class's colour, so a wrong pixel cannot be read as a predicted class.
    """
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if truth.shape != predicted.shape:
        raise ValueError(f"truth {truth.shape} and prediction {predicted.shape} differ in shape")
    out = np.full(truth.shape + (3,), 200, np.uint8)
    out[truth != predicted] = WRONG_PIXEL
    out[truth == ignore_label] = 255
    return out


def show_segmentations(
    images: np.ndarray,
    rows: Mapping[str, np.ndarray | None],
    class_names: Sequence[str] | None = None,
    size: float = 2.0,
) -> plt.Figure:
    """One column per image, one row per entry of `rows`, each row named on the left.

    A row is None (the images themselves), label maps (N, H, W) drawn as solid colours
    (`label_map_rgb`, with a legend when `class_names` is given), or RGB pictures (N, H, W, 3)
    such as `error_map`'s, drawn as they are.
    """
    images = np.asarray(images)
    for name, maps in rows.items():
        if maps is not None and len(maps) < len(images):
            raise ValueError(f"row {name!r} has {len(maps)} maps for {len(images)} images")
    height = (size + 0.3) * len(rows) + (
        0.4 if class_names is not None else 0
    )  # room for row names
    fig, axes = plt.subplots(
        len(rows),
        len(images),
        figsize=(size * len(images), height),
        squeeze=False,
        layout="constrained",
    )
    for row, (name, maps) in enumerate(rows.items()):
        for col, image in enumerate(images):
            if maps is None:
                picture = image
            else:
                picture = maps[col] if np.ndim(maps[col]) == 3 else label_map_rgb(maps[col])
            axes[row, col].imshow(picture)
            axes[row, col].axis("off")
        axes[row, 0].set_title(name, loc="left")
    if class_names is not None:
        from matplotlib.patches import Patch

        colours = [BACKGROUND_GREY / 255] + [c / 255 for c in LABEL_PALETTE[1 : len(class_names)]]
        handles = [
            Patch(facecolor=c, edgecolor="black", label=n)
            for c, n in zip(colours, class_names, strict=True)
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)
    return fig


def plot_class_iou(
    ious: Mapping[str, Sequence[float]], class_names: Sequence[str], title: str | None = None
) -> plt.Figure:
    """Per-class IoU as grouped bars, one group per class and one bar per entry (e.g.
    before/after)."""
    n_classes = len(class_names)
    for name, values in ious.items():
        if len(values) != n_classes:
            raise ValueError(f"{name!r} has {len(values)} IoUs for {n_classes} classes")
    fig, ax = plt.subplots(figsize=(1.2 * n_classes + 2.5, 3.5))
    width = 0.8 / max(1, len(ious))
    for k, (name, values) in enumerate(ious.items()):
        xs = np.arange(n_classes) + (k - (len(ious) - 1) / 2) * width
        bars = ax.bar(xs, np.nan_to_num(np.asarray(values, float)), width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(range(n_classes), list(class_names))
    ax.set_ylim(0, 1.3)  # room above the bars for the legend
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("IoU")
    ax.legend(loc="upper center", ncol=len(ious), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_bilateral_kernel(
    image: np.ndarray,
    pixel: tuple[int, int],
    position: np.ndarray,
    appearance: np.ndarray,
    sxy: float,
    srgb: float,
) -> plt.Figure:
    """A dense CRF's appearance (bilateral) kernel for one pixel of a photo, in four panels.

    `position` and `appearance` are (H, W) weights between `pixel` = (row, col) and every pixel:
    the position part alone, and position times colour. The last panel draws the kernel as a
    function of distance (pixels) and colour distance (levels), with contours at 0.5 and 0.1.
    """
    image, position, appearance = np.asarray(image), np.asarray(position), np.asarray(appearance)
    if position.shape != image.shape[:2] or appearance.shape != image.shape[:2]:
        raise ValueError(
            f"the weight maps {position.shape}, {appearance.shape} must cover the "
            f"image's {image.shape[:2]} pixels"
        )
    row, col = pixel
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.9), layout="constrained")
    panels = [
        (image, None, "the photo and the pixel (+)"),
        (position, "magma", f"position only: theta_alpha = {sxy:g} px"),
        (appearance, "magma", f"position and colour: theta_beta = {srgb:g}"),
    ]
    for ax, (picture, cmap, title) in zip(axes[:3], panels, strict=True):
        ax.imshow(picture, cmap=cmap, vmin=0 if cmap else None, vmax=1 if cmap else None)
        ax.plot(col, row, "+", color="cyan", markersize=14, markeredgewidth=2)
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    distance = np.linspace(0, 3 * sxy, 200)
    colour = np.linspace(0, 3 * srgb, 200)
    weight = np.exp(
        -(distance[None, :] ** 2) / (2 * sxy**2) - colour[:, None] ** 2 / (2 * srgb**2)
    )
    shown = axes[3].imshow(
        weight,
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=0,
        vmax=1,
        extent=(0, distance[-1], 0, colour[-1]),
    )
    lines = axes[3].contour(
        distance, colour, weight, levels=[0.1, 0.5], colors="white", linewidths=1
    )
    axes[3].clabel(lines, fontsize=8)
    axes[3].set_xlabel("distance between the two pixels (px)")
    axes[3].set_ylabel("colour distance (levels)")
    axes[3].set_title("the kernel's weight", fontsize=10)
    fig.colorbar(shown, ax=axes[3], shrink=0.8)
    return fig

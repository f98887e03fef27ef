"""Plot helpers draw what they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from course_utils import plots


def test_smooth_curve_is_an_exponential_moving_average():
    assert plots.smooth_curve([1.0, 3.0, 3.0], factor=0.5).tolist() == [1.0, 2.0, 2.5]
    assert plots.smooth_curve([4.0, 4.0], factor=0.9).tolist() == [4.0, 4.0]


def test_plot_history_draws_train_and_validation_per_metric():
    hist = {
        "loss": [1.0, 0.5, 0.3],
        "val_loss": [1.1, 0.7, 0.6],
        "accuracy": [0.5, 0.7, 0.8],
        "val_accuracy": [0.4, 0.6, 0.7],
    }
    fig = plots.plot_history(hist)
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == ["loss", "accuracy"]
    assert np.allclose(axes[0].lines[1].get_ydata(), hist["val_loss"])
    smoothed = plots.plot_history(hist, smooth=0.5)
    lines = smoothed.axes[0].lines
    assert len(lines) == 4  # raw (faint) + EMA, for training and validation
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert np.allclose(lines[1].get_ydata(), plots.smooth_curve(hist["loss"], 0.5))


def test_plot_history_names_what_is_missing():
    with pytest.raises(ValueError, match="auc"):
        plots.plot_history({"auc": [0.5]}, metrics=("loss",))


def test_show_images_labels_each_image():
    imgs = np.random.default_rng(0).integers(0, 255, (5, 8, 8), dtype=np.uint8)
    fig = plots.show_images(imgs, labels=list("abcde"), ncols=3)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == list("abcde") and len(fig.axes) == 6
    with pytest.raises(ValueError):
        plots.show_images([])


def test_overlay_labels_tints_classes_and_whitens_ignored_pixels():
    image = np.full((4, 4, 3), 100, np.uint8)
    mask = np.array([[0, 1, 2, 255]] * 4, np.uint8)
    out = plots.overlay_labels(image, mask, alpha=0.5)
    assert out.dtype == np.uint8 and out.shape == image.shape
    np.testing.assert_array_equal(out[:, 0], image[:, 0])  # background untouched
    np.testing.assert_array_equal(
        out[0, 1], (0.5 * 100 + 0.5 * plots.LABEL_PALETTE[1]).astype(np.uint8)
    )
    assert not np.array_equal(out[0, 1], out[0, 2])  # two classes, two colours
    np.testing.assert_array_equal(out[:, 3], 255)
    with pytest.raises(ValueError, match="does not cover"):
        plots.overlay_labels(image, mask[:2])
    with pytest.raises(ValueError, match="also holds"):
        plots.overlay_labels(image, np.full((4, 4), 9, np.uint8))


def test_show_segmentations_draws_solid_label_maps_rgb_rows_and_a_legend():
    images = np.zeros((3, 4, 4, 3), np.uint8)
    truth = np.zeros((3, 4, 4), np.uint8)
    truth[:, :2] = 2
    pred = truth.copy()
    pred[0, 0, 0] = 1
    fig = plots.show_segmentations(
        images,
        {"image": None, "truth": truth, "errors": plots.error_map(truth, pred)},
        class_names=["background", "disc", "triangle"],
    )
    axes = np.array(fig.axes).reshape(3, 3)
    assert [axes[r, 0].get_title(loc="left") for r in range(3)] == ["image", "truth", "errors"]
    np.testing.assert_array_equal(axes[1, 2].images[0].get_array(), plots.label_map_rgb(truth[2]))
    np.testing.assert_array_equal(axes[1, 2].images[0].get_array()[0, 0], plots.LABEL_PALETTE[2])
    np.testing.assert_array_equal(
        axes[2, 0].images[0].get_array()[0, 0], [0, 0, 0]
    )  # the wrong pixel
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["background", "disc", "triangle"]
    with pytest.raises(ValueError, match="2 maps for 3 images"):
        plots.show_segmentations(images, {"truth": truth[:2]})


def test_label_map_rgb_and_error_map_colour_every_pixel_by_rule():
    mask = np.array([[0, 1], [255, 3]], np.uint8)
    rgb = plots.label_map_rgb(mask)
    np.testing.assert_array_equal(rgb[0, 0], plots.BACKGROUND_GREY)
    np.testing.assert_array_equal(rgb[1, 0], [255, 255, 255])
    np.testing.assert_array_equal(rgb[1, 1], plots.LABEL_PALETTE[3])
    with pytest.raises(ValueError, match="also holds \\[9\\]"):
        plots.label_map_rgb(np.full((2, 2), 9))
    errors = plots.error_map(mask, np.array([[0, 2], [1, 3]]))
    assert [tuple(errors[i, j]) for i in range(2) for j in range(2)] == [
        (200, 200, 200),
        (0, 0, 0),
        (255, 255, 255),
        (200, 200, 200),
    ]
    class_colours = {tuple(c) for c in plots.LABEL_PALETTE[1:].astype(int)} | {
        tuple(plots.BACKGROUND_GREY.astype(int))
    }
    assert tuple(plots.WRONG_PIXEL) not in class_colours  # a wrong pixel never looks like a class


def test_plot_class_iou_draws_one_bar_group_per_class_with_values():
    fig = plots.plot_class_iou(
        {"network": [0.9, 0.5], "+ CRF": [0.92, 0.6]}, ["background", "disc"]
    )
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    assert sorted(t.get_text() for t in ax.texts) == ["0.50", "0.60", "0.90", "0.92"]
    with pytest.raises(ValueError, match="1 IoUs for 2 classes"):
        plots.plot_class_iou({"network": [0.9]}, ["background", "disc"])


def test_compare_histories_draws_every_run_on_one_axis_per_metric():
    runs = {
        "baseline": {"val_loss": [0.9, 0.5, 0.7]},
        "dropout": {"val_loss": [0.8, 0.6, 0.5, 0.45], "val_accuracy": [0.5, 0.6, 0.7, 0.8]},
    }
    fig = plots.compare_histories(runs)
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.get_lines()] == ["baseline", "dropout"]
    assert list(loss_ax.get_lines()[1].get_xdata()) == [1, 2, 3, 4]  # epochs counted from 1
    assert [line.get_label() for line in acc_ax.get_lines()] == ["dropout"]
    fig.canvas.draw()
    assert all(float(t).is_integer() for t in loss_ax.get_xticks())
    with pytest.raises(ValueError, match="None of"):
        plots.compare_histories(runs, metrics=("auc",))


def test_show_predictions_colours_right_green_and_wrong_red_with_the_truth():
    images = np.zeros((3, 4, 4))
    fig = plots.show_predictions(images, [0, 1, 1], [0, 0, 1], class_names=["cat", "dog"])
    titles = [(ax.get_title(), ax.title.get_color()) for ax in fig.axes[:3]]
    assert titles == [("cat", "green"), ("cat (is dog)", "red"), ("dog", "green")]
    with pytest.raises(ValueError, match="one label and one prediction per image"):
        plots.show_predictions(images, [0, 1], [0, 1])


def test_plot_confusion_writes_every_count():
    fig = plots.plot_confusion(np.array([[5, 1], [2, 7]]), ["cat", "dog"])
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "5", "7"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog"]
    with pytest.raises(ValueError, match="square"):
        plots.plot_confusion(np.zeros((2, 3)))


def test_compare_histories_can_smooth_each_curve():
    runs = {"a": {"val_loss": [1.0, 0.0, 1.0, 0.0]}, "b": {"val_loss": [2.0, 2.0, 2.0, 2.0]}}
    fig = plots.compare_histories(runs, metrics=("val_loss",), smooth=0.5)
    ax = fig.axes[0]
    a, b = (line.get_ydata() for line in ax.get_lines())
    assert np.allclose(a, [1.0, 0.5, 0.75, 0.375]) and np.allclose(b, 2.0)
    assert "EMA" in ax.get_ylabel()
    matplotlib.pyplot.close(fig)


def test_show_filter_positions_draws_one_panel_per_output_pixel():
    from matplotlib.patches import Rectangle

    fig = plots.show_filter_positions(7, 3, stride=2)
    assert len(fig.axes) == 9  # (7 - 3) / 2 + 1 = 3 per axis
    corners = [next(p for p in ax.patches if isinstance(p, Rectangle)).get_xy() for ax in fig.axes]
    assert corners == [(x, y) for y in (0, 2, 4) for x in (0, 2, 4)]
    matplotlib.pyplot.close(fig)
    fig = plots.show_filter_positions(
        5, 3, padding=1
    )  # "same": 5x5 positions on a 7x7 padded grid
    assert len(fig.axes) == 25 and fig.axes[0].get_images()[0].get_array().shape == (7, 7)
    matplotlib.pyplot.close(fig)
    with pytest.raises(ValueError, match="do not fit"):
        plots.show_filter_positions(7, 3, stride=3)


def test_draw_graph_writes_values_and_gradients_on_every_edge():
    nodes = {
        "x": (0, 2, "x"),
        "y": (0, 1, "y"),
        "z": (0, 0, "z"),
        "q": (1, 1.5, "+"),
        "f": (2, 0.75, "*"),
    }
    edges = [("x", "q"), ("y", "q"), ("q", "f"), ("z", "f")]
    values = {"x": -2, "y": 5, "z": -4, "q": 3, "f": -12}
    grads = {"x": -4, "y": -4, "z": 3, "q": -4, "f": 1}
    fig = plots.draw_graph(nodes, edges, values, grads)
    texts = [t.get_text() for t in fig.axes[0].texts]
    for edge_label in ("-2", "5", "3", "-4"):  # forward values of x, y, q, z
        assert edge_label in texts
    assert texts.count("-4") == 4  # z's value, and the gradients of x, y and q
    assert "×" in texts and "+" in texts and "f = -12" in texts and "1" in texts
    with pytest.raises(ValueError, match="'z' needs"):
        plots.draw_graph(nodes, edges, values, {k: v for k, v in grads.items() if k != "z"})
    import matplotlib.pyplot as plt

    plt.close("all")


def test_compare_histories_can_name_axes_and_put_one_legend_below_the_panels():
    runs = {
        name: {"loss": [1.0, 0.5, 0.2], "accuracy": [0.5, 0.7, 0.9]} for name in ("a", "b", "c")
    }
    fig = plots.compare_histories(
        runs,
        metrics=("loss", "accuracy"),
        legend_below=True,
        ylabels={"accuracy": "training accuracy"},
    )
    loss_ax, acc_ax = fig.axes
    assert [loss_ax.get_ylabel(), acc_ax.get_ylabel()] == ["loss", "training accuracy"]
    assert loss_ax.get_legend() is None and acc_ax.get_legend() is None
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b", "c"]
    fig.canvas.draw()
    box = legend.get_window_extent()
    assert all(
        box.y1 <= ax.get_tightbbox().y0 for ax in fig.axes
    )  # under the panels and their labels
    assert box.y0 >= 0  # and inside the figure
    matplotlib.pyplot.close(fig)


def _labels_clear_the_row_above(fig, ncols: int) -> None:
    """Every axes' title (centre or left) sits above its own image, and at least 3 pixels (about
    2 points) below the image above: near-touching looks like touching."""
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for i, ax in enumerate(fig.axes):
        for title in (t for t in ax.get_children() if isinstance(t, Text) and t.get_text()):
            label, image = title.get_window_extent(renderer), ax.get_window_extent(renderer)
            assert label.y0 >= image.y1, title.get_text()
            if i >= ncols:
                assert label.y1 + 3 <= fig.axes[i - ncols].get_window_extent(renderer).y0, (
                    title.get_text()
                )
    matplotlib.pyplot.close(fig)


def test_image_grids_keep_every_label_between_its_image_and_the_row_above():
    digits = np.zeros((16, 28, 28))
    _labels_clear_the_row_above(
        plots.show_predictions(digits, [4] * 16, [9] * 16, title="9 (is 4)"), 8
    )
    two_lines = plots.show_images(
        digits, ["rotated\nL2 1234"] * 16, ncols=8, title="two-line labels"
    )
    assert (
        two_lines.get_size_inches()[1]
        > plots.show_images(digits, ["one line"] * 16).get_size_inches()[1]
    )
    _labels_clear_the_row_above(two_lines, 8)
    _labels_clear_the_row_above(
        plots.show_images(
            np.zeros((10, 32, 32, 3), np.uint8), list("abcdefghij"), ncols=5, size=2.0
        ),
        5,
    )
    masks = np.zeros((6, 64, 64), np.uint8)
    _labels_clear_the_row_above(
        plots.show_segmentations(
            np.zeros((6, 64, 64, 3), np.uint8),
            {
                "image": None,
                "truth": masks,
                "network": masks,
                "wrong pixels": plots.error_map(masks, masks),
            },
            class_names=["background", "disc"],
        ),
        6,
    )


def test_show_filters_draws_framed_tiles_on_one_scale_centred_on_zero():
    kernels = np.random.default_rng(0).normal(size=(32, 3, 3))
    kernels[0, 0, 0] = -5.0  # the largest weight in size sets the scale for every tile
    fig = plots.show_filters(kernels, ncols=8, title="32 filters")
    tiles = [ax for ax in fig.axes if ax.images]
    assert len(tiles) == 32
    for ax, kernel in zip(tiles, kernels, strict=True):
        np.testing.assert_array_equal(ax.images[0].get_array(), kernel)
        assert ax.images[0].get_clim() == (-5.0, 5.0)
        assert ax.images[0].get_cmap().name == "RdBu_r"
    colour_bar = [ax for ax in fig.axes if ax.get_ylabel() == "weight"]
    assert len(colour_bar) == 1
    fig.canvas.draw()
    first, second = tiles[0].get_window_extent(), tiles[1].get_window_extent()
    below = tiles[8].get_window_extent()
    assert second.x0 > first.x1 and below.y1 < first.y0  # gaps between tiles, across and down
    with pytest.raises(ValueError, match="shape"):
        plots.show_filters(np.zeros((3, 3)))
    matplotlib.pyplot.close(fig)


def test_plot_bilateral_kernel_draws_the_photo_both_weight_maps_and_the_weight_function():
    image = np.zeros((20, 30, 3), np.uint8)
    image[:, 15:] = 200  # two flat halves: the colour term cuts the kernel at the edge
    rows, cols = np.mgrid[:20, :30]
    position = np.exp(-((rows - 10) ** 2 + (cols - 12) ** 2) / (2 * 5.0**2))
    colour = ((image.astype(float) - image[10, 12]) ** 2).sum(-1)
    appearance = position * np.exp(-colour / (2 * 13.0**2))
    fig = plots.plot_bilateral_kernel(image, (10, 12), position, appearance, 5.0, 13.0)
    panels = fig.axes[:4]
    assert [ax.get_title() for ax in panels[1:3]] == [
        "position only: theta_alpha = 5 px",
        "position and colour: theta_beta = 13",
    ]
    np.testing.assert_allclose(panels[1].images[0].get_array(), position)
    np.testing.assert_allclose(panels[2].images[0].get_array(), appearance)
    assert panels[2].images[0].get_array()[:, 15:].max() < 1e-20  # nothing across the edge
    marker = panels[0].lines[0]
    assert (marker.get_xdata()[0], marker.get_ydata()[0]) == (12, 10)  # (col, row)
    weight = panels[3].images[0].get_array()
    assert weight[0, 0] == pytest.approx(1.0) and weight[-1, -1] < 1e-3
    assert panels[3].get_xlabel().startswith("distance") and "colour" in panels[3].get_ylabel()
    with pytest.raises(ValueError, match="cover"):
        plots.plot_bilateral_kernel(image, (1, 1), position[:5], appearance, 5.0, 13.0)


def test_show_filter_responses_puts_each_kernel_above_its_map():
    rng = np.random.default_rng(0)
    kernel, response = rng.normal(size=(3, 3)), rng.normal(size=(8, 8))
    image = rng.uniform(size=(10, 10))
    fig = plots.show_filter_responses(
        {"image": (None, image), "k": (kernel, response)}, title="two columns"
    )
    assert sorted(ax.get_title() for ax in fig.axes if ax.get_title()) == ["image", "k"]
    top = [ax for ax in fig.axes if ax.images and ax.get_title() == "k"]
    k_img = top[0].images[0]
    np.testing.assert_array_equal(k_img.get_array(), kernel)
    assert k_img.get_clim() == (-np.abs(kernel).max(), np.abs(kernel).max())
    maps = [ax for ax in fig.axes if ax.images and ax is not top[0]]
    assert len(maps) == 2 and not fig.axes[0].images  # nothing above the image
    assert maps[0].images[0].get_cmap().name == "gray"
    r_img = maps[1].images[0]
    assert r_img.get_cmap().name == "RdBu_r"
    assert r_img.get_clim() == (-np.abs(response).max(), np.abs(response).max())
    fig.canvas.draw()
    assert maps[1].get_window_extent().y1 < top[0].get_window_extent().y0  # below its kernel
    with pytest.raises(ValueError, match="no columns"):
        plots.show_filter_responses({})
    matplotlib.pyplot.close(fig)


def test_show_heatmaps_shares_one_scale_from_zero():
    a, b = np.zeros((4, 6)), np.arange(24.0).reshape(4, 6)
    fig = plots.show_heatmaps({"a": a, "b": b}, xlabel="unit", ylabel="image", title="t")
    maps = [ax for ax in fig.axes if ax.images and ax.get_title()]
    assert [ax.get_title() for ax in maps] == ["a", "b"]
    for ax, array in zip(maps, (a, b), strict=True):
        np.testing.assert_array_equal(ax.images[0].get_array(), array)
        assert ax.images[0].get_clim() == (0.0, 23.0)
    assert maps[0].get_ylabel() == "image" and maps[1].get_xlabel() == "unit"
    assert len(fig.axes) == 3  # two panels and one colour bar
    with pytest.raises(ValueError, match="2-D"):
        plots.show_heatmaps({"x": np.zeros(3)})
    with pytest.raises(ValueError, match="no panels"):
        plots.show_heatmaps({})
    matplotlib.pyplot.close(fig)

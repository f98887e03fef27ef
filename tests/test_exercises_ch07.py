"""Chapter 07's exercise checks: the chapter's solutions and solutions by other routes pass on
every seed; stubs are NOT DONE; planted mistakes FAIL on every seed, named where they can be."""

from __future__ import annotations

import numpy as np
from exercise_support import chapter_functions, expect, outcome, stub

from course_utils.exercises import ch07

SOLVED = chapter_functions("07_pretrained_vgg16")
CHECKS = {
    ch07.check_vgg_preprocess: "vgg_preprocess",
    ch07.check_unfreeze_schedule: "unfreeze_schedule",
}
MEAN_BGR = np.array([103.939, 116.779, 123.68])


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_the_vgg16_names_are_keras_own():
    import keras

    keras.backend.clear_session()  # else an earlier test's inputs make this one "input_layer_3"
    vgg16 = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    assert [layer.name for layer in vgg16.layers] == ch07.VGG16_NAMES


def test_vgg_preprocess(capsys):
    import tensorflow as tf

    def channels_by_hand(images):
        return np.stack(
            [images[..., 2] - 103.939, images[..., 1] - 116.779, images[..., 0] - 123.68], -1
        )

    def by_tensorflow(images):
        return tf.reverse(tf.constant(images), axis=[-1]).numpy() - MEAN_BGR

    def no_flip(images):
        return images - MEAN_BGR

    def means_in_rgb_order(images):
        return images[..., ::-1] - MEAN_BGR[::-1]

    def scaled(images):
        return images[..., ::-1] / 255.0 - MEAN_BGR / 255.0

    def flip_after_subtracting(images):  # RGB image minus BGR means, then flipped
        return (images - MEAN_BGR)[..., ::-1]

    def in_place(images):
        images -= MEAN_BGR[::-1]
        return images[..., ::-1]

    expect(
        capsys,
        ch07.check_vgg_preprocess,
        right=[SOLVED["vgg_preprocess"], channels_by_hand, by_tensorflow],
        wrong={
            no_flip: "RGB order",
            means_in_rgb_order: "wrong colour",
            scaled: "divide by 255",
            flip_after_subtracting: "wrong colour",
            in_place: "changed the images",
        },
        hints=("RGB order", "wrong colour", "divide by 255", "changed the images"),
    )


def test_the_schedule_reference_on_the_worked_example():
    plan = ch07.schedule_reference(ch07.VGG16_NAMES, 14, 2, 3, "block3", 1e-3, 2.0)
    assert ch07._describe(plan) == (
        "epochs 1-2 frozen at 0.001, 3-5 from block5_conv1 at 0.0005, "
        "6-8 from block4_conv1 at 0.00025, 9-14 from block3_conv1 at 0.000125"
    )


def test_unfreeze_schedule(capsys):
    solution = SOLVED["unfreeze_schedule"]

    def stage_by_stage(layer_names, epochs, head_epochs, every, lowest, lr, factor):
        order = sorted(
            {n.split("_")[0] for n in layer_names if n.startswith("block")},
            key=lambda b: int(b[5:]),
            reverse=True,
        )
        plan, rate, first = [(None, lr)] * min(head_epochs, epochs), lr, None
        for block in order[: order.index(lowest) + 1]:
            rate /= factor
            first = [n for n in layer_names if n.startswith(block + "_")][0]
            plan += [(first, rate)] * every
        plan += [(first, rate)] * epochs
        return plan[:epochs]

    def one_epoch_early(*args):
        return ch07.schedule_reference(*args, start=0)

    def bottom_up(*args):
        return ch07.schedule_reference(*args, order="bottom up")

    def below_lowest(*args):
        return ch07.schedule_reference(*args, floor=False)

    def divided_once(*args):
        return ch07.schedule_reference(*args, compound=False)

    def keeps_dividing(*args):
        return ch07.schedule_reference(*args, keep_dividing=True)

    def block_names(*args):  # "block5" instead of "block5_conv1"
        return [(first and first.split("_")[0], rate) for first, rate in solution(*args)]

    def zero_based(layer_names, epochs, *rest):  # an entry for epoch 0 too
        return [(None, rest[-2])] + solution(layer_names, epochs, *rest)[:-1]

    def stops_above_lowest(*args):  # block `lowest` itself never unfrozen
        return ch07.schedule_reference(*args, floor="above")

    expect(
        capsys,
        ch07.check_unfreeze_schedule,
        right=[solution, stage_by_stage],
        wrong={
            one_epoch_early: "epoch head_epochs + 1",
            bottom_up: "from the top",
            below_lowest: "never unfreeze below",
            divided_once: "once more for every block",
            keeps_dividing: "nothing changes any more",
            block_names: "the block's first layer",
            zero_based: "epoch head_epochs + 1",
            stops_above_lowest: "block `lowest` itself",
        },
        hints=(
            "epoch head_epochs + 1",
            "from the top",
            "never unfreeze below",
            "once more for every block",
            "nothing changes any more",
            "the block's first layer",
            "block `lowest` itself",
        ),
    )

"""Chapter 06's exercise checks: the chapter's solutions and solutions by other routes pass on
every seed; stubs are NOT DONE; planted mistakes FAIL on every seed, named where they can be."""

from __future__ import annotations

import keras
import numpy as np
from exercise_support import chapter_functions, expect, outcome, stub
from keras import layers

from course_utils.exercises import ch06

SOLVED = chapter_functions("06_small_data_augmentation")
CHECKS = (ch06.check_dropout, ch06.check_digit_augmentation, ch06.check_early_stopping)


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_dropout(capsys):
    def by_binomial(x, rate, rng, training):
        if not training:
            return x.copy()
        return x * rng.binomial(1, 1 - rate, size=x.shape) / (1 - rate)

    def by_uniform_below(x, rate, rng, training):  # drop where the draw is below rate
        return np.where(rng.uniform(size=x.shape) < rate, 0.0, x / (1 - rate)) if training else x

    def not_scaled(x, rate, rng, training):  # the 2012 paper's form: scale at inference instead
        return x * (rng.random(x.shape) >= rate) if training else x

    def scaled_the_wrong_way(x, rate, rng, training):
        return x * (rng.random(x.shape) >= rate) * (1 - rate) if training else x

    def keeps_with_probability_rate(x, rate, rng, training):
        return np.where(rng.random(x.shape) < rate, x / (1 - rate), 0.0) if training else x

    def one_mask_for_all_rows(x, rate, rng, training):
        return x * (rng.random(x.shape[1:]) >= rate) / (1 - rate) if training else x

    def global_generator(x, rate, rng, training):
        return x * (np.random.random(x.shape) >= rate) / (1 - rate) if training else x

    def own_seed(x, rate, rng, training):
        return (
            x * (np.random.default_rng(0).random(x.shape) >= rate) / (1 - rate) if training else x
        )

    def drops_at_inference(x, rate, rng, training):
        return x * (rng.random(x.shape) >= rate) / (1 - rate)

    def in_place(x, rate, rng, training):
        if training:
            x *= (rng.random(x.shape) >= rate) / (1 - rate)
        return x

    expect(
        capsys,
        ch06.check_dropout,
        right=[SOLVED["inverted_dropout"], by_binomial, by_uniform_below],
        wrong={
            not_scaled: "without the 1 / (1 - rate)",
            scaled_the_wrong_way: "do not multiply",
            keeps_with_probability_rate: "that is the share you should keep",
            one_mask_for_all_rows: "the same zeros",
            global_generator: "same seed gave different",
            own_seed: "gave the same output",
            drops_at_inference: "training=False",
            in_place: "changed x",
        },
        hints=(
            "without the 1 / (1 - rate)",
            "do not multiply",
            "that is the share you should keep",
            "the same zeros",
            "same seed gave different",
            "gave the same output",
            "training=False",
            "changed x",
        ),
    )


def test_digit_augmentation(capsys):
    black = dict(fill_mode="constant", fill_value=0.0)

    def factors_and_nesting():  # other factors, a nested Sequential
        return keras.Sequential(
            [
                layers.RandomRotation((-0.05, 0.08), **black),
                keras.Sequential(
                    [
                        layers.RandomZoom((-0.1, 0.25), (-0.1, 0.25), **black),
                        layers.RandomTranslation(0.15, 0.1, **black),
                    ]
                ),
            ]
        )

    def functional():
        inputs = keras.Input((None, None, 3))
        x = layers.RandomTranslation(0.1, 0.1, **black)(inputs)
        x = layers.RandomZoom(0.15, **black)(x)
        return keras.Model(inputs, layers.RandomRotation(0.08, **black)(x))

    def with_flip():  # the chapter's full-mode augmentation: right for cats, wrong for digits
        return keras.Sequential(
            [
                layers.RandomFlip("horizontal"),
                layers.RandomRotation(0.1, **black),
                layers.RandomZoom(0.2, **black),
                layers.RandomTranslation(0.2, 0.2, **black),
            ]
        )

    def reflect_fill():  # no flip, but the default fill mirrors the image into the new pixels
        return keras.Sequential(
            [
                layers.RandomRotation(0.1),
                layers.RandomZoom(0.2),
                layers.RandomTranslation(0.2, 0.2),
            ]
        )

    def translation_left_at_reflect():  # the issue's leak: the others' black corners hid it
        return keras.Sequential(
            [
                layers.RandomRotation(0.1, **black),
                layers.RandomZoom(0.2, **black),
                layers.RandomTranslation(0.2, 0.2),
            ]
        )

    def nearest_fill():
        return keras.Sequential(
            [
                layers.RandomRotation(0.1, fill_mode="nearest"),
                layers.RandomZoom(0.2, fill_mode="nearest"),
                layers.RandomTranslation(0.2, 0.2, fill_mode="nearest"),
            ]
        )

    def white_fill():
        white = dict(fill_mode="constant", fill_value=255.0)
        return keras.Sequential(
            [
                layers.RandomRotation(0.1, **white),
                layers.RandomZoom(0.2, **white),
                layers.RandomTranslation(0.2, 0.2, **white),
            ]
        )

    def no_zoom():
        return keras.Sequential(
            [layers.RandomRotation(0.1, **black), layers.RandomTranslation(0.2, 0.2, **black)]
        )

    def does_nothing():  # the three layers, each with a factor of 0
        return keras.Sequential(
            [
                layers.RandomRotation(0.0, **black),
                layers.RandomZoom(0.0, **black),
                layers.RandomTranslation(0.0, 0.0, **black),
            ]
        )

    expect(
        capsys,
        ch06.check_digit_augmentation,
        right=[SOLVED["make_digit_augmentation"], factors_and_nesting, functional],
        wrong={
            with_flip: "mirror images",
            reflect_fill: "fill_mode='reflect'",
            translation_left_at_reflect: "RandomTranslation has fill_mode='reflect'",
            nearest_fill: "repeat the nearest edge pixel",
            white_fill: "fill_value=255.0",
            no_zoom: "RandomZoom too",
            does_nothing: "changed visibly",
        },
        hints=(
            "mirror images",
            "fill_mode='reflect'",
            "repeat the nearest edge pixel",
            "fill_value=255.0",
            "RandomZoom too",
        ),
    )


def test_early_stopping_by_hand_is_keras():
    rng = np.random.default_rng(0)
    for what, curve, patience, min_delta in ch06._curves(rng):
        assert ch06.early_stopping_reference(
            curve, patience, min_delta
        ) == ch06.keras_early_stopping(curve, patience, min_delta), what


def test_early_stopping(capsys):
    def with_a_list(val_loss, patience, min_delta=0.0):  # the epochs since the last improvement
        improved = []
        for epoch, loss in enumerate(val_loss):
            if not improved or loss < min(val_loss[i] for i in improved) - min_delta:
                improved.append(epoch)
            elif epoch - improved[-1] >= max(patience, 1) or (patience == 0):
                return epoch + 1, improved[-1] + 1
        return len(val_loss), improved[-1] + 1

    def ties_improve(val_loss, patience, min_delta=0.0):
        return ch06.early_stopping_reference(val_loss, patience, min_delta, strict=False)

    def against_previous(val_loss, patience, min_delta=0.0):
        return ch06.early_stopping_reference(val_loss, patience, min_delta, against="previous")

    def one_late(val_loss, patience, min_delta=0.0):
        return ch06.early_stopping_reference(val_loss, patience, min_delta, extra=1)

    def restores_the_lowest(val_loss, patience, min_delta=0.0):
        return ch06.early_stopping_reference(val_loss, patience, min_delta, restored="lowest")

    def zero_based(val_loss, patience, min_delta=0.0):
        stop, best = SOLVED["early_stopping"](val_loss, patience, min_delta)
        return stop - 1, best - 1

    def min_delta_ignored(val_loss, patience, min_delta=0.0):
        return SOLVED["early_stopping"](val_loss, patience, 0.0)

    def never_stops_returns_more(val_loss, patience, min_delta=0.0):  # len + 1 when it never stops
        stop, best = SOLVED["early_stopping"](val_loss, patience, min_delta)
        return (stop + 1 if stop == len(val_loss) else stop), best

    expect(
        capsys,
        ch06.check_early_stopping,
        right=[SOLVED["early_stopping"], with_a_list],
        wrong={
            ties_improve: "a tie",
            against_previous: "not with the epoch before",
            one_late: "one epoch late",
            restores_the_lowest: "need not be the lowest",
            zero_based: "count from 1",
            min_delta_ignored: "",
            never_stops_returns_more: "",
        },
        hints=(
            "a tie",
            "not with the epoch before",
            "one epoch late",
            "one epoch early",
            "need not be the lowest",
            "count from 1",
        ),
    )

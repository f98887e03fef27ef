"""Chapter 00's exercise checks: the chapter's solutions and solutions by other routes pass on
every seed; stubs are NOT DONE; planted mistakes FAIL on every seed, named where they can be."""

from __future__ import annotations

import cv2
import numpy as np
from exercise_support import chapter_functions, expect, outcome, stub

from course_utils.exercises import ch00

SOLVED = chapter_functions("00_setup_and_image_basics", cv2=cv2)
CHECKS = {
    ch00.check_bgr_to_grey: "bgr_to_grey",
    ch00.check_halve: "halve",
    ch00.check_keras_batch: "to_keras_batch",
}


def test_stubs_are_not_done(capsys):
    for check in CHECKS:
        assert outcome(capsys, check, stub).startswith("NOT DONE")


def test_grey(capsys):
    def by_opencv(bgr):
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)

    def fixed_point(bgr):  # OpenCV's own integer weights (sum 2**14), rounded by adding a half
        total = bgr.astype(np.int64) @ np.array([1868, 9617, 4899]) + (1 << 13)
        return (total >> 14).astype(np.uint8)

    def rgb_weights_on_bgr(bgr):  # the weights in R, G, B order on a BGR image
        return np.rint(bgr @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)

    def rgb2gray_code(bgr):  # OpenCV told the image is RGB
        return cv2.cvtColor(bgr, cv2.COLOR_RGB2GRAY)

    def cut_off(bgr):  # astype truncates instead of rounding
        return (bgr @ np.array([0.114, 0.587, 0.299])).astype(np.uint8)

    def plain_mean(bgr):
        return np.rint(bgr.mean(axis=2)).astype(np.uint8)

    def float_grey(bgr):  # right numbers, wrong dtype
        return bgr @ np.array([0.114, 0.587, 0.299])

    def in_place(bgr):  # scales the caller's image
        bgr[...] = bgr // 2
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) * 2

    expect(
        capsys,
        ch00.check_bgr_to_grey,
        right=[SOLVED["bgr_to_grey"], by_opencv, fixed_point],
        wrong={
            rgb_weights_on_bgr: "wrong channels",
            rgb2gray_code: "wrong channels",
            cut_off: "cut off",
            plain_mean: "",
            float_grey: "dtype",
            in_place: "changed",
        },
        hints=("wrong channels", "cut off", "dtype", "changed"),
    )


def test_halve(capsys):
    def by_opencv(img):
        h, w = img.shape[:2]
        return cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)

    def four_slices(img):
        return (img[::2, ::2] + img[1::2, ::2] + img[::2, 1::2] + img[1::2, 1::2]) / 4

    def skip_pixels(img):
        return img[::2, ::2]

    def other_corner(img):
        return img[1::2, 1::2]

    def axes_mixed(img):  # splits the axes in the wrong order
        h, w, c = img.shape
        return img.reshape(h // 2, w // 2, 2, 2, c).mean(axis=(2, 3))

    def width_height_swapped(img):  # cv2.resize given (height, width)
        h, w = img.shape[:2]
        return cv2.resize(img, (h // 2, w // 2), interpolation=cv2.INTER_AREA)

    def pyramid(img):  # blurs with a 5x5 kernel first
        return cv2.pyrDown(img)

    expect(
        capsys,
        ch00.check_halve,
        right=[SOLVED["halve"], by_opencv, four_slices],
        wrong={
            skip_pixels: "keeps one pixel",
            other_corner: "keeps one pixel",
            axes_mixed: "(h/2, 2, w/2, 2, c)",
            width_height_swapped: "shape",
            pyramid: "top-left block",
        },
        hints=("keeps one pixel", "(h/2, 2, w/2, 2, c)"),
    )


def _crop(bgr, top, left):
    side = min(bgr.shape[:2])
    return bgr[top : top + side, left : left + side]


def test_keras_batch(capsys):
    solution = SOLVED["to_keras_batch"]

    def float_first(images, size):  # converts to float, then RGB with a slice, then resizes
        out = []
        for bgr in images:
            h, w = bgr.shape[:2]
            side = min(h, w)
            square = _crop(bgr, (h - side) >> 1, (w - side) >> 1)[..., ::-1].astype(np.float32)
            out.append(cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA))
        return np.array(out)

    def rgb_first(images, size):
        out = np.empty((len(images), size, size, 3), np.float32)
        for i, bgr in enumerate(images):
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            h, w = rgb.shape[:2]
            side = min(h, w)
            square = rgb[int((h - side) / 2) :, int((w - side) / 2) :][:side, :side]
            out[i] = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
        return out

    def still_bgr(images, size):
        return solution(images, size)[..., ::-1]

    def top_left_square(images, size):
        return solution([_crop(im, 0, 0) for im in images], size)

    def rounded_up(images, size):
        return solution(
            [
                _crop(
                    im,
                    -(-(im.shape[0] - min(im.shape[:2])) // 2),
                    -(-(im.shape[1] - min(im.shape[:2])) // 2),
                )
                for im in images
            ],
            size,
        )

    def python_round(images, size):
        return solution(
            [
                _crop(
                    im,
                    round((im.shape[0] - min(im.shape[:2])) / 2),
                    round((im.shape[1] - min(im.shape[:2])) / 2),
                )
                for im in images
            ],
            size,
        )

    def squashed(images, size):  # resizes the whole photo, no crop
        return np.stack(
            [
                cv2.cvtColor(
                    cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB
                )
                for im in images
            ]
        ).astype(np.float32)

    def linear(images, size):  # cv2.resize's default interpolation
        return np.stack(
            [
                cv2.cvtColor(
                    cv2.resize(
                        _crop(
                            im,
                            (im.shape[0] - min(im.shape[:2])) // 2,
                            (im.shape[1] - min(im.shape[:2])) // 2,
                        ),
                        (size, size),
                    ),
                    cv2.COLOR_BGR2RGB,
                )
                for im in images
            ]
        ).astype(np.float32)

    def uint8_batch(images, size):
        return solution(images, size).astype(np.uint8)

    def no_batch_axis(images, size):
        return np.concatenate(solution(images, size))

    def in_place(images, size):  # converts the caller's photos to RGB
        for im in images:
            im[...] = im[..., ::-1]
        return solution([im[..., ::-1] for im in images], size)

    expect(
        capsys,
        ch00.check_keras_batch,
        right=[solution, float_first, rgb_first],
        wrong={
            still_bgr: "red and blue are swapped",
            top_left_square: "photos",
            rounded_up: "rounds the start up",
            python_round: "round()",
            squashed: "photos",
            linear: "cv2.resize's default",
            uint8_batch: "dtype",
            no_batch_axis: "shape",
            in_place: "changed",
        },
        hints=(
            "red and blue are swapped",
            "rounds the start up",
            "round()",
            "cv2.resize's default",
            "dtype",
            "changed",
        ),
    )

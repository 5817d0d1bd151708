"""MNIST-style framing of drawings: bounding box, 20x20 fit, centre of mass at the centre."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tt_capstone.preprocess import (
    EmptyDrawingError,
    as_grayscale,
    bounding_box,
    center_of_mass,
    fit_box,
    place_centered,
    preprocess_digit,
    resize_area,
)


def test_bounding_box_is_inclusive_and_ignores_faint_pixels() -> None:
    img = np.zeros((10, 12))
    img[2:5, 3:9] = 1.0
    img[9, 11] = 0.05  # below the threshold: paper noise, not ink
    assert bounding_box(img, threshold=0.1) == (2, 4, 3, 8)


def test_bounding_box_of_empty_drawing_raises() -> None:
    with pytest.raises(EmptyDrawingError, match="empty"):
        bounding_box(np.zeros((5, 5)))


def test_center_of_mass_uses_pixel_centres_and_weights() -> None:
    img = np.zeros((4, 6))
    img[1, 2] = 1.0
    assert center_of_mass(img) == pytest.approx((1.5, 2.5))
    img[3, 4] = 3.0  # three times heavier: the centre moves 3/4 of the way
    assert center_of_mass(img) == pytest.approx((1.5 + 0.75 * 2, 2.5 + 0.75 * 2))


def test_resize_area_preserves_the_mean_and_averages_blocks() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((40, 60))
    small = resize_area(img, 20, 30)
    assert small.shape == (20, 30)
    assert small.mean() == pytest.approx(img.mean())
    assert small[0, 0] == pytest.approx(img[:2, :2].mean())


def test_fit_box_keeps_aspect_ratio() -> None:
    tall = np.ones((100, 25))
    assert fit_box(tall).shape == (20, 5)
    wide = np.ones((3, 9))
    assert fit_box(wide).shape == (7, 20)  # upscaled too: the longer side is always 20


def test_place_centered_puts_centre_of_mass_at_field_centre() -> None:
    digit = np.zeros((20, 10))
    digit[:, :3] = 1.0  # ink on the left: the centre of mass is off the box centre
    field, (top, left) = place_centered(digit)
    cy, cx = center_of_mass(field)
    assert abs(cy - 14.0) <= 0.5 and abs(cx - 14.0) <= 0.5
    assert field.sum() == pytest.approx(digit.sum())  # nothing lost
    assert (top, left) == (4, round(14 - 1.5))


def test_place_centered_keeps_lopsided_digits_inside() -> None:
    digit = np.zeros((20, 20))
    digit[0, 0] = 1.0  # the centre of mass in a corner would push the box out of the field
    field, (top, left) = place_centered(digit)
    assert (top, left) == (8, 8)
    assert field.sum() == pytest.approx(1.0)


def test_preprocess_is_translation_and_scale_invariant() -> None:
    a = np.zeros((112, 112))
    a[20:80, 40:52] = 255  # a thick "1"
    b = np.zeros((200, 300))
    b[60:180, 200:224] = 255  # the same stroke, twice as large, elsewhere on a bigger canvas
    pa, pb = preprocess_digit(a), preprocess_digit(b)
    assert pa.shape == (28, 28) and pa.dtype == np.float32
    np.testing.assert_allclose(pa, pb, atol=1e-6)
    ys, _ = np.nonzero(pa > 0.1)
    assert ys.max() - ys.min() + 1 == 20  # the longer side fills the 20-pixel box
    assert pa.max() == pytest.approx(1.0)


def test_preprocess_matches_an_mnist_like_digit() -> None:
    """A digit already framed like MNIST comes back (nearly) unchanged."""
    digit = np.zeros((28, 28))
    digit[4:24, 11:17] = 1.0  # 20 tall, centred
    out = preprocess_digit(digit, max_value=1.0)
    np.testing.assert_allclose(out, digit, atol=1e-6)


@pytest.mark.parametrize(
    "pixels, match",
    [
        (np.zeros((3, 4, 5)), "2-D"),
        (np.full((4, 4), np.nan), "finite"),
        (np.full((4, 4), 300.0), r"\[0, 255\]"),
        (np.full((4, 4), -1.0), r"\[0, 255\]"),
        (np.zeros((0, 4)), "non-empty"),
    ],
)
def test_bad_drawings_are_refused(pixels: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        as_grayscale(pixels)


def test_empty_drawing_is_an_empty_drawing_error() -> None:
    with pytest.raises(EmptyDrawingError):
        preprocess_digit(np.zeros((50, 50)))


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(8, 120),
    w=st.integers(8, 120),
    box=st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)),
    seed=st.integers(0, 2**16),
)
def test_preprocess_invariants(
    h: int, w: int, box: tuple[float, float, float, float], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w))
    r0, r1 = sorted((int(box[0] * (h - 1)), int(box[1] * (h - 1))))
    c0, c1 = sorted((int(box[2] * (w - 1)), int(box[3] * (w - 1))))
    img[r0 : r1 + 1, c0 : c1 + 1] = rng.uniform(128, 255, size=(r1 - r0 + 1, c1 - c0 + 1))
    out = preprocess_digit(img)
    assert out.shape == (28, 28)
    assert out.min() >= 0.0 and out.max() == pytest.approx(1.0)
    ys, xs = np.nonzero(out > 0)
    assert max(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) <= 20
    cy, cx = center_of_mass(out)
    assert abs(cy - 14.0) <= 4.0 and abs(cx - 14.0) <= 4.0  # clamping may move it, not far

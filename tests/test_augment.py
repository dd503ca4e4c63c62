"""Augmentation: Algorithm 1 offline and on the fly, SpecAugment, only while training."""
import numpy as np
import pytest


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    x = np.zeros((6, 64, 64, 3), dtype=np.float32)
    # a gradient along time, so a flip or a shift changes the picture measurably
    x += np.linspace(0, 1, 64, dtype=np.float32)[None, None, :, None]
    return np.clip(x + 0.05 * rng.random(x.shape, dtype=np.float32), 0, 1)


def test_augmenter_is_identity_outside_training(images):
    import keras

    from fser_utils.training.augment import build_augmenter

    aug = build_augmenter(specaugment=True, seed=0)
    out = keras.ops.convert_to_numpy(aug(images, training=False))
    np.testing.assert_array_equal(out, images)
    out = keras.ops.convert_to_numpy(aug(images, training=True))
    assert out.shape == images.shape
    assert not np.allclose(out, images)


def test_offline_augmentation_counts(images):
    from fser_utils.training.augment import build_augmenter, compute_augmented_images

    aug, src = compute_augmented_images(images, n_copies=20,
                                        augmenter=build_augmenter(seed=1), progress=False)
    # the paper: 1947 images -> 1947 * 21 = 40 887
    assert len(aug) == 21 * len(images) and 1947 * 21 == 40887
    np.testing.assert_array_equal(aug[:len(images)], images)
    np.testing.assert_array_equal(src, np.tile(np.arange(len(images)), 21))
    assert aug.min() >= 0 and aug.max() <= 1
    assert not np.allclose(aug[len(images):2 * len(images)], images)


def test_flip_reverses_time(images):
    import keras

    from fser_utils.training.augment import build_augmenter

    flip = build_augmenter(width_shift=0, height_shift=0, zoom=0, flip=True, seed=0)
    out = keras.ops.convert_to_numpy(flip(np.repeat(images[:1], 32, 0), training=True))
    flipped = [np.allclose(o, images[0, :, ::-1]) for o in out]
    kept = [np.allclose(o, images[0]) for o in out]
    assert all(f or k for f, k in zip(flipped, kept))
    assert any(flipped) and any(kept)


def test_specaugment_masks_bands(images):
    import keras

    from fser_utils.training.augment import SpecAugment

    layer = SpecAugment(freq_mask=10, time_mask=10, n_freq_masks=1, n_time_masks=1, seed=0)
    out = keras.ops.convert_to_numpy(layer(images, training=True))
    changed = ~np.isclose(out, images).all(axis=-1)
    assert changed.any()
    # masked pixels form whole rows and whole columns
    rows = changed.all(axis=2)
    cols = changed.all(axis=1)
    assert np.array_equal(changed, rows[:, :, None] | cols[:, None, :])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(images, training=False)),
                                  images)
    assert SpecAugment.from_config(layer.get_config()).freq_mask == 10


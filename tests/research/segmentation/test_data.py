"""Data set reading, mask decoding and the seeded split."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.errors import InputError
from research.segmentation.augment import elastic, geometric, photometric
from research.segmentation.data import (Sample, decode_mask, dev_folds, list_pairs, near_duplicate_groups, read_pair,
                                     split_ids)


def test_decode_mask_uses_the_usgra_colours():
    m = np.zeros((4, 4, 3), np.uint8)
    m[0, 0] = (0, 0, 128)      # nerve, BGR
    m[1, 1] = (0, 128, 0)      # vessel
    m[2, 2] = (128, 0, 0)      # not a class
    lab = decode_mask(m)
    assert lab[0, 0] == 1 and lab[1, 1] == 2 and lab[2, 2] == 0 and lab.sum() == 3


def test_real_mask_decodes_to_nerve_and_vessel(usgra_dir):
    sid, ip, mp = list_pairs(usgra_dir)[0]
    s = read_pair(ip, mp, sid)
    assert s.gray.shape == s.labels.shape and set(np.unique(s.labels)) <= {0, 1, 2}
    assert (s.labels == 1).any()                         # every USGRA image has a nerve


def test_missing_folders_and_mismatched_masks_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="images/ and masks/"):
        list_pairs(tmp_path)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.zeros((10, 10), np.uint8))
    cv2.imwrite(str(tmp_path / "masks" / "a.png"), np.zeros((12, 10, 3), np.uint8))
    sid, ip, mp = list_pairs(tmp_path)[0]
    with pytest.raises(InputError, match="differs"):
        read_pair(ip, mp, sid)


def test_split_is_seeded_disjoint_and_stratified():
    samples = [Sample(f"{i:03d}", np.zeros((10 + (i % 2), 10), np.uint8), np.zeros((1, 1), np.uint8))
               for i in range(40)]
    tr, va = split_ids(samples, 0.25, seed=3)
    assert (tr, va) == split_ids(samples, 0.25, seed=3)
    assert not set(tr) & set(va) and len(tr) + len(va) == 40
    assert sum(int(v) % 2 for v in va) == 5                # 5 of each size group
    assert split_ids(samples, 0.25, seed=4)[1] != va


def test_augmentation_keeps_image_and_labels_aligned():
    rng = np.random.default_rng(1)
    img = np.full((200, 300), 80, np.uint8)
    lab = np.zeros((200, 300), np.uint8)
    cv2.circle(img, (150, 100), 30, 250, -1)
    cv2.circle(lab, (150, 100), 30, 1, -1)
    for _ in range(5):
        g, la = geometric(img, lab, 96, rng)
        x = photometric(g, rng)
        assert g.shape == la.shape == x.shape == (96, 96)
        assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
        inside = g[la == 1]
        assert inside.size and np.median(inside) > 200      # the bright disc is where its label is


def test_elastic_deformation_bends_image_and_labels_alike():
    rng = np.random.default_rng(2)
    img = np.full((96, 96), 60, np.uint8)
    lab = np.zeros((96, 96), np.uint8)
    for x in range(8, 96, 16):                               # bright vertical bars labelled nerve
        img[:, x:x + 6] = 240
        lab[:, x:x + 6] = 1
    for _ in range(5):
        g, la = elastic(img, lab, rng, sigma=0.04)
        assert g.shape == la.shape == (96, 96) and set(np.unique(la)) <= {0, 1}
        assert not np.array_equal(la, lab)                   # the bars are bent
        assert np.median(g[la == 1]) > 200 and np.median(g[(la == 0) & (g > 0)]) < 100
        g2, la2 = geometric(img, lab, 96, np.random.default_rng(3), elastic_p=1.0)
        assert np.median(g2[la2 == 1]) > 200


def _scene(seed: int, shape=(120, 140)) -> Sample:
    rng = np.random.default_rng(seed)
    img = (rng.random(shape) * 200 + 20).astype(np.uint8)
    img = cv2.GaussianBlur(img, (0, 0), 3)
    lab = np.zeros(shape, np.uint8)
    cv2.circle(lab, (int(rng.integers(30, 110)), int(rng.integers(30, 90))), int(rng.integers(8, 20)), 1, -1)
    lab[-1, :seed + 1] = 2                               # a vessel of a size no other scene has
    return Sample(f"{seed:03d}", img, lab)


def test_near_duplicates_are_grouped_and_kept_on_the_validation_side():
    base = [_scene(i) for i in range(12)]
    s0 = base[0]
    reexport = Sample("100", cv2.resize(s0.gray, (150, 120)), cv2.resize(s0.labels, (150, 120),
                                                                          interpolation=cv2.INTER_NEAREST))
    same_mask = Sample("101", _scene(50).gray, s0.labels.copy())
    samples = base + [reexport, same_mask]
    groups = near_duplicate_groups(samples)
    assert groups["000"] == groups["100"] == groups["101"]
    assert len({groups[s.id] for s in base}) == len(base)
    for seed in range(6):
        tr, va = split_ids(samples, 0.25, seed)
        sides = {i in va for i in ("000", "100", "101")}
        assert len(sides) == 1 and not set(tr) & set(va)


def test_dev_folds_are_disjoint_cover_everything_and_keep_groups_whole():
    base = [_scene(i) for i in range(20)]
    dup = Sample("200", base[3].gray.copy(), base[3].labels.copy())
    folds = dev_folds(base + [dup], 4, seed=0)
    flat = [i for f in folds for i in f]
    assert sorted(flat) == sorted(s.id for s in base + [dup]) and len(flat) == len(set(flat))
    assert any({"003", "200"} <= set(f) for f in folds)
    assert folds == dev_folds(base + [dup], 4, seed=0)

"""Data set reading, mask decoding and the seeded split."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sonoguide.errors import InputError
from vision.segmentation.augment import geometric, photometric
from vision.segmentation.data import Sample, decode_mask, list_pairs, read_pair, split_ids


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

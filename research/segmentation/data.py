"""Loading labelled ultrasound data sets and the synthetic phantom bank.

A data set directory holds ``images/NNNN.png`` and ``masks/NNNN.png`` (the USGRA layout): masks
are colour PNGs, read by OpenCV as BGR, with nerve ``(0, 0, 128)`` and vessel ``(0, 128, 0)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.errors import InputError

log = logging.getLogger(__name__)

CLASSES = ("background", "nerve", "vessel")
MASK_BGR = {1: (0, 0, 128), 2: (0, 128, 0)}
"""Mask colour (BGR, as OpenCV reads it) of each foreground class id."""
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class Sample:
    """One labelled image: ``gray`` HxW uint8, ``labels`` HxW uint8 (0 bg, 1 nerve, 2 vessel)."""

    id: str
    gray: np.ndarray
    labels: np.ndarray


def decode_mask(mask_bgr: np.ndarray, path: str = "mask") -> np.ndarray:
    """Class-id image from a colour mask (any colour other than the two classes is background).

    A grayscale mask whose values are already class ids 0..2 is accepted as is.
    """
    if mask_bgr.ndim == 2:
        if mask_bgr.max(initial=0) > 2:
            raise InputError(f"{path}: grayscale mask has values above 2; expected class ids or the colour encoding")
        return mask_bgr.astype(np.uint8)
    labels = np.zeros(mask_bgr.shape[:2], np.uint8)
    for cls, bgr in MASK_BGR.items():
        labels[np.all(mask_bgr[:, :, :3] == np.array(bgr, np.uint8), axis=-1)] = cls
    return labels


def list_pairs(data_dir: str | Path) -> list[tuple[str, Path, Path]]:
    """``(id, image_path, mask_path)`` of every image with a mask in ``data_dir``.

    Raises:
        InputError: the directory lacks ``images/`` or ``masks/``, or holds no pairs.
    """
    root = Path(data_dir)
    img_dir, mask_dir = root / "images", root / "masks"
    if not img_dir.is_dir() or not mask_dir.is_dir():
        raise InputError(f"{root}: expected sub-folders images/ and masks/ (the USGRA layout)")
    masks = {p.stem: p for p in mask_dir.iterdir() if p.suffix.lower() in IMAGE_EXTS}
    pairs = [(p.stem, p, masks[p.stem]) for p in sorted(img_dir.iterdir())
             if p.suffix.lower() in IMAGE_EXTS and p.stem in masks]
    if not pairs:
        raise InputError(f"{root}: no image in images/ has a mask of the same name in masks/")
    missing = sum(1 for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.stem not in masks)
    if missing:
        log.warning("%s: %d images have no mask and are skipped", root, missing)
    return pairs


def read_pair(img_path: Path, mask_path: Path, sid: str) -> Sample:
    """Read one image (as grayscale) and its mask (as class ids); InputError if unreadable."""
    gray = cv2.imread(str(img_path), cv2.IMREAD_GRAYSCALE)
    if gray is None:
        raise InputError(f"{img_path}: not a readable image")
    mask = cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise InputError(f"{mask_path}: not a readable image")
    if mask.ndim == 3 and mask.shape[2] == 4:
        mask = mask[:, :, :3]
    labels = decode_mask(mask, str(mask_path))
    if labels.shape != gray.shape:
        raise InputError(f"{mask_path}: mask size {labels.shape[1]}x{labels.shape[0]} differs from its image "
                         f"{gray.shape[1]}x{gray.shape[0]}")
    return Sample(sid, gray, labels)


def load_dataset(data_dir: str | Path) -> list[Sample]:
    """Every labelled image of ``data_dir`` in memory (204 USGRA images take about 60 MB)."""
    return [read_pair(ip, mp, sid) for sid, ip, mp in list_pairs(data_dir)]


def near_duplicate_groups(samples: list[Sample], threshold: float = 0.9) -> dict[str, int]:
    """Group id of every sample; near-duplicates share a group.

    Two images are near-duplicates when their masks hold exactly the same non-zero number of
    pixels of every class (the same annotation exported twice, e.g. at 512x512 and 534x512), or
    when the normalised cross-correlation of 48x48 thumbnails of their detected image areas
    exceeds ``threshold`` (the same view re-exported, or consecutive frames of one sweep).
    Groups are the connected components of this relation (union-find). Splitting by group keeps
    copies of a validation image out of training (Kaufman et al., "Leakage in Data Mining",
    ACM TKDD 2012).
    """
    from vision.segmentation.preprocess import detect_roi

    parent = list(range(len(samples)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    by_sig: dict[tuple[int, ...], int] = {}
    thumbs = []
    for i, s in enumerate(samples):
        sig = tuple(int(np.count_nonzero(s.labels == c)) for c in range(1, len(CLASSES)))
        if any(sig):
            if sig in by_sig:
                union(i, by_sig[sig])
            by_sig.setdefault(sig, i)
        h, w = s.gray.shape
        x, y, rw, rh = detect_roi(s.gray) or (0, 0, w, h)
        t = cv2.resize(s.gray[y:y + rh, x:x + rw], (48, 48), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
        thumbs.append((t - t.mean()) / (t.std() + 1e-6))
    if thumbs:
        t = np.stack(thumbs)
        corr = t @ t.T / t.shape[1]
        for i, j in zip(*np.nonzero(np.triu(corr, 1) > threshold)):
            union(int(i), int(j))
    return {s.id: find(i) for i, s in enumerate(samples)}


def split_ids(samples: list[Sample], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Seeded split by image, stratified by image size (a proxy for the scanning session), with
    near-duplicates kept together: every near-duplicate of a validation image
    (:func:`near_duplicate_groups`) moves to the validation side.

    Returns:
        ``(train_ids, val_ids)``, each sorted.
    """
    rng = np.random.default_rng(seed)
    groups: dict[tuple[int, int], list[str]] = {}
    for s in samples:
        groups.setdefault(s.gray.shape, []).append(s.id)
    val: list[str] = []
    for key in sorted(groups):
        ids = sorted(groups[key])
        n_val = int(round(len(ids) * val_fraction))
        val += [ids[i] for i in rng.permutation(len(ids))[:n_val]]
    dup = near_duplicate_groups(samples)
    val_groups = {dup[i] for i in val}
    val_set = {s.id for s in samples if dup[s.id] in val_groups}
    return sorted(s.id for s in samples if s.id not in val_set), sorted(val_set)


def dev_folds(samples: list[Sample], n_folds: int, seed: int) -> list[list[str]]:
    """``n_folds`` disjoint development folds of ``samples`` for cross-validation on the training
    part: whole near-duplicate groups are dealt round-robin (seeded order), so no fold shares a
    near-duplicate with another. Each fold's ids are sorted."""
    dup = near_duplicate_groups(samples)
    members: dict[int, list[str]] = {}
    for s in samples:
        members.setdefault(dup[s.id], []).append(s.id)
    keys = sorted(members, key=lambda g: min(members[g]))
    order = np.random.default_rng(seed).permutation(len(keys))
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    for n, k in enumerate(order):
        folds[n % n_folds] += members[keys[k]]
    return [sorted(f) for f in folds]


def phantom_bank(n: int, seed: int, progress: bool = False) -> list[Sample]:
    """Render ``n`` varied synthetic phantom frames with their exact label images.

    Presets, anatomy seeds, gain, noise, speckle, depth, bone and needle vary at random (seeded).
    """
    from vision.phantom.config import (PhantomAnatomyConfig, PhantomConfig, PhantomImagingConfig,
                                       PhantomNeedleConfig)
    from vision.phantom.render import Phantom

    rng = np.random.default_rng(seed)
    out = []
    it = range(n)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="phantom frames", unit="frame", leave=False)
    for i in it:
        preset = ("femoral", "interscalene", "random")[i % 3]
        size = int(rng.choice([320, 400, 480]))
        # drawn in this order (the bank's frames depend on it), then grouped by section
        seed = int(rng.integers(0, 1_000_000))
        height_px, depth_mm = int(size * rng.uniform(0.8, 1.25)), float(rng.uniform(30, 50))
        width_mm, n_nerves, n_vessels = float(rng.uniform(35, 45)), int(rng.integers(1, 3)), int(rng.integers(0, 3))
        gain_db, noise_std = float(rng.uniform(-6, 6)), float(rng.uniform(1, 6))
        speckle_strength = float(rng.uniform(0.7, 1.3))
        bone, needle = bool(rng.random() < 0.7), bool(rng.random() < 0.5)
        side, angle_deg = str(rng.choice(["left", "right"])), float(rng.uniform(15, 45))
        cfg = PhantomConfig(
            seed=seed,
            imaging=PhantomImagingConfig(width_px=size, height_px=height_px, depth_mm=depth_mm, width_mm=width_mm,
                                         gain_db=gain_db, noise_std=noise_std, speckle_strength=speckle_strength),
            anatomy=PhantomAnatomyConfig(preset=preset, n_nerves=n_nerves, n_vessels=n_vessels, bone=bone),
            needle=PhantomNeedleConfig(enabled=needle, side=side, angle_deg=angle_deg))
        frame = Phantom(cfg).render(float(rng.uniform(0, 8)))
        out.append(Sample(f"phantom{i:04d}", frame.image, frame.labels))
    return out

"""Simulated N-wire captures: the written truth is self-consistent and the layout is the CLI's."""

from __future__ import annotations

import json

import cv2
import numpy as np

from research.calibration.nwire_sim import NWireSimConfig, grid_errors, main, simulate_nwire, write_capture


def _line_distance(p, a, b):
    d = (b - a) / np.linalg.norm(b - a)
    r = p - a
    return np.linalg.norm(r - (r @ d) * d)


def test_true_dots_lie_on_their_wires_through_the_true_chain():
    cap = simulate_nwire(8, NWireSimConfig(n_frames=6), render=False)
    wires = cap.geometry.wires
    for T_tm, dots in zip(cap.true_T_tracker_from_marker, cap.dots_px):
        T_pi = np.linalg.inv(cap.true_T_tracker_from_phantom) @ T_tm @ cap.T_marker_from_image
        for layer, trip in zip(wires, dots):
            for (a, b), (u, v) in zip(layer, trip):
                p = (T_pi @ [u, v, 0.0, 1.0])[:3]
                assert _line_distance(p, a, b) < 1e-6
    # the pose noise is there, of the stated size
    d = np.linalg.norm(cap.T_tracker_from_marker[:, :3, 3] - cap.true_T_tracker_from_marker[:, :3, 3], axis=1)
    assert 0.05 < d.mean() < 1.0


def test_written_capture_layout(tmp_path):
    cap = simulate_nwire(9, NWireSimConfig(n_frames=3))
    path = write_capture(cap, tmp_path / "c")
    data = json.loads(path.read_text())
    assert data["image_size"] == [640, 480] and len(data["frames"]) == 3
    assert np.asarray(data["T_tracker_from_marker"]).shape == (3, 4, 4)
    img = cv2.imread(str(path.parent / data["frames"][0]), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(img, cap.images[0])
    truth = json.loads((path.parent / "truth.json").read_text())
    assert grid_errors(np.asarray(truth["T_marker_from_image"]), cap.T_marker_from_image, (640, 480)).max() == 0.0


def test_seeds_differ_and_command_line(tmp_path, capsys):
    a = simulate_nwire(1, NWireSimConfig(n_frames=2), render=False)
    b = simulate_nwire(2, NWireSimConfig(n_frames=2), render=False)
    assert a.spacing_mm != b.spacing_mm and not np.allclose(a.T_marker_from_image, b.T_marker_from_image)
    assert main(["--out", str(tmp_path / "x"), "--seed", "3", "--frames", "2"]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "x" / "frames" / "0001.png").is_file()

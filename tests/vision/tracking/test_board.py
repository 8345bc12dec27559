"""Board files: ChArUco and ArUco cube, any predefined dictionary, clear errors on bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import ConfigError
from vision.tracking.board import load_board


def test_charuco_from_issue_example_matches_opencv_layout(tmp_path):
    spec = {"type": "charuco", "dictionary": "DICT_4X4_50", "squares_x": 5, "squares_y": 7,
            "square_length_mm": 10.0, "marker_length_mm": 7.5}
    p = tmp_path / "board.json"
    p.write_text(json.dumps(spec))
    b = load_board(p)
    assert b.n_markers == 17
    assert b.charuco_points.shape == (24, 3)
    # OpenCV's object-point convention: origin at the top-left outer corner, z = 0
    assert np.allclose(b.charuco_points[0], [10, 10, 0])
    assert np.allclose(b.charuco_points[:, 2], 0)
    b.save(tmp_path / "again.json")
    assert load_board(tmp_path / "again.json").to_dict() == b.to_dict()


@pytest.mark.parametrize("dictionary,sx,sy", [("DICT_5X5_100", 6, 9), ("DICT_6X6_250", 8, 11),
                                              ("DICT_APRILTAG_36h11", 4, 6), ("DICT_ARUCO_ORIGINAL", 5, 5)])
def test_any_predefined_dictionary_and_size(dictionary, sx, sy):
    b = load_board({"type": "charuco", "dictionary": dictionary, "squares_x": sx, "squares_y": sy,
                    "square_length_mm": 12.0, "marker_length_mm": 9.0})
    assert b.n_markers == (sx * sy) // 2
    assert b.charuco_points.shape == ((sx - 1) * (sy - 1), 3)


def test_cube_faces_are_outward_and_not_planar():
    b = load_board({"type": "aruco_cube", "dictionary": "DICT_4X4_50", "cube_size_mm": 40.0,
                    "marker_length_mm": 30.0, "faces": {"+x": 0, "-x": 1, "+y": 2, "-y": 3, "+z": 4}})
    assert b.n_markers == 5 and not b.is_planar
    for face in b.planar_faces:
        centre = face.T_board_from_face[:3, 3]
        assert np.isclose(np.linalg.norm(centre), 20.0)
        # face z axis points into the cube (the printed side faces outward)
        assert np.dot(face.T_board_from_face[:3, 2], centre) < 0


@pytest.mark.parametrize("text,needle", [
    ("{not json", "not valid JSON"),
    ('{"type": "chessboard"}', "key 'type'"),
    ('{"type": "charuco", "dictionary": "DICT_4X4_50", "squares_x": 5, "squares_y": 7, "square_length_mm": 10}',
     "missing key 'marker_length_mm'"),
    ('{"type": "charuco", "dictionary": "DICT_9X9_1", "squares_x": 5, "squares_y": 7, "square_length_mm": 10,'
     ' "marker_length_mm": 7.5}', "not an OpenCV dictionary"),
    ('{"type": "charuco", "dictionary": "DICT_4X4_50", "squares_x": 5, "squares_y": 7, "square_length_mm": 10,'
     ' "marker_length_mm": 12}', "smaller than 'square_length_mm'"),
    ('{"type": "charuco", "dictionary": "DICT_4X4_50", "squares_x": 15, "squares_y": 15, "square_length_mm": 10,'
     ' "marker_length_mm": 7}', "use a larger dictionary"),
    ('{"type": "charuco", "dictionary": "DICT_4X4_50", "squares_x": 5, "squares_y": 7, "square_length_mm": 10,'
     ' "marker_length_mm": 7.5, "colour": "red"}', "unknown key(s) colour"),
])
def test_wrong_board_file_gives_one_clear_error(tmp_path, text, needle):
    p = tmp_path / "board.json"
    p.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_board(p)
    assert needle in str(e.value) and str(p) in str(e.value)


def test_missing_board_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_board(tmp_path / "nope.json")

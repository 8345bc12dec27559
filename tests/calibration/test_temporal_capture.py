"""Reading a temporal capture folder: order, aliases, lost poses, and one clear line per malformed entry."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from calibration.temporal_capture import load_temporal_capture, parse_spacing
from core.errors import InputError


def _folder(tmp_path, frames, poses, meta=None):
    d = tmp_path / "cap"
    (d / "frames").mkdir(parents=True)
    for name in ("a.png", "b.png", "c.png"):
        cv2.imwrite(str(d / "frames" / name), np.zeros((8, 8), np.uint8))
    (d / "frames.jsonl").write_text("".join(json.dumps(f) + "\n" for f in frames))
    (d / "poses.jsonl").write_text("".join(json.dumps(p) + "\n" for p in poses))
    if meta is not None:
        (d / "capture.json").write_text(json.dumps(meta))
    return d


EYE = np.eye(4).tolist()


def test_lines_are_sorted_duplicates_dropped_lost_poses_counted(tmp_path):
    d = _folder(tmp_path, [{"frame": "b.png", "t_ns": 20}, {"frame": "a.png", "t_ns": 10},
                           {"frame": "c.png", "t_ns": 20}],
                [{"t_ns": 5, "T_tracker_from_marker": EYE}, {"t_capture_ns": 3, "T_camera_from_marker": EYE},
                 {"t_ns": 4, "T_tracker_from_marker": None}], {"pixel_spacing_mm": 0.2})
    cap = load_temporal_capture(d)
    assert [p.name for p in cap.frame_paths] == ["a.png", "b.png"] and cap.frame_t_ns.tolist() == [10, 20]
    assert cap.pose_t_ns.tolist() == [3, 5] and cap.n_lost == 1 and cap.mm_per_px == (0.2, 0.2)
    assert load_temporal_capture(d, (0.1, 0.3)).mm_per_px == (0.1, 0.3)


@pytest.mark.parametrize("frames, poses, message", [
    ([{"frame": "a.png"}], [{"t_ns": 1, "T_tracker_from_marker": EYE}], r"frames.jsonl:1: 't_ns' must be"),
    ([{"frame": "zz.png", "t_ns": 1}], [{"t_ns": 1, "T_tracker_from_marker": EYE}], "'zz.png' not found"),
    ([{"frame": "a.png", "t_ns": 1}], [{"t_ns": 1}], r"poses.jsonl:1: lacks 'T_tracker_from_marker'"),
    ([{"frame": "a.png", "t_ns": 1}], [{"t_ns": 1, "T_tracker_from_marker": [[1, 2], [3, 4]]}], "4x4 matrices"),
    ([{"frame": "a.png", "t_ns": 1}], [{"t_ns": 1, "T_tracker_from_marker": None}], "holds no tracked pose"),
    ([], [{"t_ns": 1, "T_tracker_from_marker": EYE}], "lists no frames"),
])
def test_malformed_entries_are_one_line_naming_file_and_line(tmp_path, frames, poses, message):
    d = _folder(tmp_path, frames, poses, {"mm_per_px": [0.1, 0.1]})
    with pytest.raises(InputError, match=message):
        load_temporal_capture(d)


def test_a_line_that_is_not_json_and_a_missing_spacing(tmp_path):
    d = _folder(tmp_path, [{"frame": "a.png", "t_ns": 1}], [{"t_ns": 1, "T_tracker_from_marker": EYE}])
    with pytest.raises(InputError, match="pixel spacing is not known"):
        load_temporal_capture(d)
    (d / "poses.jsonl").write_text("{not json\n")
    with pytest.raises(InputError, match=r"poses.jsonl:1: not a JSON object"):
        load_temporal_capture(d, (0.1, 0.1))


def test_parse_spacing():
    assert parse_spacing("0.1") == (0.1, 0.1) and parse_spacing("0.1,0.2") == (0.1, 0.2)
    for bad in ("x", "0", "-1,1", "1,2,3"):
        with pytest.raises(InputError, match="pixel spacing"):
            parse_spacing(bad)

"""PoseBuffer: interpolation at the ultrasound capture time, temporal offset, stale and lost."""

from __future__ import annotations

import numpy as np

from vision.tracking.config import TrackingConfig
from vision.tracking.pose import PoseMeasurement
from vision.tracking.se3 import make_T, rotation_angle_deg, rotvec_to_R
from vision.tracking.sync import PoseBuffer
from vision.types import Validity

MS = 1_000_000


def _m(t_ms, x, angle_deg=0.0, validity=Validity.OK):
    return PoseMeasurement(make_T(rotvec_to_R([0, 0, np.radians(angle_deg)]), [x, 0, 300.0]), validity, t_ms * MS)


def test_slerp_lerp_between_neighbours():
    b = PoseBuffer(TrackingConfig())
    b.push(_m(0, 0.0, 0.0))
    b.push(_m(40, 10.0, 20.0))
    m = b.at(10 * MS)
    assert m.validity == Validity.OK and m.reason == "interpolated"
    assert np.isclose(m.T_camera_from_board[0, 3], 2.5)
    assert np.isclose(rotation_angle_deg(np.eye(3), m.T_camera_from_board[:3, :3]), 5.0)
    assert m.t_capture_ns == 10 * MS


def test_temporal_offset_shifts_the_query():
    b = PoseBuffer(TrackingConfig(temporal_offset_ms=20.0))
    b.push(_m(0, 0.0))
    b.push(_m(40, 10.0))
    assert np.isclose(b.at(0).T_camera_from_board[0, 3], 5.0)


def test_old_pose_is_stale_never_current():
    b = PoseBuffer(TrackingConfig(max_pose_age_ms=100.0))
    b.push(_m(0, 1.0))
    assert b.at(50 * MS).usable
    late = b.at(250 * MS)
    assert late.validity == Validity.STALE and not late.usable


def test_lost_after_last_pose_wins():
    b = PoseBuffer(TrackingConfig())
    b.push(_m(0, 1.0))
    b.push(PoseMeasurement.lost(30 * MS, "no_markers"))
    m = b.at(40 * MS)
    assert m.validity == Validity.LOST and m.reason == "no_markers" and m.T_camera_from_board is None


def test_no_interpolation_across_a_loss():
    b = PoseBuffer(TrackingConfig())
    b.push(_m(0, 0.0))
    b.push(PoseMeasurement.lost(20 * MS, "no_markers"))
    b.push(_m(100, 10.0))
    assert b.at(90 * MS).T_camera_from_board[0, 3] == 10.0  # nearest, the newer pose
    assert b.at(30 * MS).validity == Validity.LOST  # the loss is newer than the last pose before
    assert b.at(10 * MS).T_camera_from_board[0, 3] == 0.0  # before the loss: the pose then


def test_empty_buffer_and_out_of_order_push():
    b = PoseBuffer(TrackingConfig(buffer_size=3))
    assert b.at(0).validity == Validity.LOST
    b.push(_m(40, 4.0))
    b.push(_m(0, 0.0))
    b.push(_m(20, 2.0))
    b.push(_m(60, 6.0))
    assert len(b) == 3
    assert np.isclose(b.at(30 * MS).T_camera_from_board[0, 3], 3.0)
    assert b.at(0).validity == Validity.OK  # 0 ms was dropped; 20 ms is 20 ms away (within the age limit)


def test_occluded_neighbour_makes_interpolation_occluded():
    b = PoseBuffer(TrackingConfig())
    b.push(_m(0, 0.0))
    b.push(_m(40, 4.0, validity=Validity.OCCLUDED))
    assert b.at(20 * MS).validity == Validity.OCCLUDED

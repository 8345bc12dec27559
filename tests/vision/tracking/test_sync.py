"""PoseBuffer: interpolation at the ultrasound capture time, temporal offset, stale and lost."""

from __future__ import annotations

import numpy as np
import pytest

from vision.tracking.config import SyncConfig
from core.pose import PoseMeasurement
from core.se3 import make_T, rotation_angle_deg, rotvec_to_R
from vision.tracking.sync import PoseAgeGate, PoseBuffer
from core.types import Validity

MS = 1_000_000


def _m(t_ms, x, angle_deg=0.0, validity=Validity.OK):
    return PoseMeasurement(make_T(rotvec_to_R([0, 0, np.radians(angle_deg)]), [x, 0, 300.0]), validity, t_ms * MS)


def test_slerp_lerp_between_neighbours():
    b = PoseBuffer(SyncConfig())
    b.push(_m(0, 0.0, 0.0))
    b.push(_m(40, 10.0, 20.0))
    m = b.at(10 * MS)
    assert m.validity == Validity.OK and m.reason == "interpolated"
    assert np.isclose(m.T_camera_from_board[0, 3], 2.5)
    assert np.isclose(rotation_angle_deg(np.eye(3), m.T_camera_from_board[:3, :3]), 5.0)
    assert m.t_capture_ns == 10 * MS


def test_temporal_offset_shifts_the_query():
    b = PoseBuffer(SyncConfig(temporal_offset_ms=20.0))
    b.push(_m(0, 0.0))
    b.push(_m(40, 10.0))
    assert np.isclose(b.at(0).T_camera_from_board[0, 3], 5.0)


def test_old_pose_is_stale_never_current():
    b = PoseBuffer(SyncConfig(max_pose_age_ms=100.0))
    b.push(_m(0, 1.0))
    assert b.at(50 * MS).usable
    late = b.at(250 * MS)
    assert late.validity == Validity.STALE and not late.usable


def test_lost_after_last_pose_wins():
    b = PoseBuffer(SyncConfig(lost_confirm_frames=1))
    b.push(_m(0, 1.0))
    b.push(PoseMeasurement.lost(30 * MS, "no_markers"))
    m = b.at(40 * MS)
    assert m.validity == Validity.LOST and m.reason == "no_markers" and m.T_camera_from_board is None


def test_no_interpolation_across_a_loss():
    b = PoseBuffer(SyncConfig(lost_confirm_frames=1))
    b.push(_m(0, 0.0))
    b.push(PoseMeasurement.lost(20 * MS, "no_markers"))
    b.push(_m(100, 10.0))
    assert b.at(90 * MS).T_camera_from_board[0, 3] == 10.0  # nearest, the newer pose
    assert b.at(30 * MS).validity == Validity.LOST  # the loss is newer than the last pose before
    assert b.at(10 * MS).T_camera_from_board[0, 3] == 0.0  # before the loss: the pose then


def test_empty_buffer_and_out_of_order_push():
    b = PoseBuffer(SyncConfig(buffer_size=3))
    assert b.at(0).validity == Validity.LOST
    b.push(_m(40, 4.0))
    b.push(_m(0, 0.0))
    b.push(_m(20, 2.0))
    b.push(_m(60, 6.0))
    assert len(b) == 3
    assert np.isclose(b.at(30 * MS).T_camera_from_board[0, 3], 3.0)
    assert b.at(0).validity == Validity.OK  # 0 ms was dropped; 20 ms is 20 ms away (within the age limit)


def test_occluded_neighbour_makes_interpolation_occluded():
    b = PoseBuffer(SyncConfig())
    b.push(_m(0, 0.0))
    b.push(_m(40, 4.0, validity=Validity.OCCLUDED))
    assert b.at(20 * MS).validity == Validity.OCCLUDED


# ---------------------------------------------------------------------------------------------
# Hysteresis on the pose age (PoseAgeGate, a Schmitt trigger): one late camera frame must not
# flip the status to stale and back, and no pose older than the hard limit is ever current.


def _gate_answers(gate, lookups):
    """``lookups``: (query ms, age ms or None for a look-up that found nothing) -> answers."""
    out = []
    for q_ms, age_ms in lookups:
        if age_ms is None:
            gate.lost(q_ms * MS)
            out.append(None)
        else:
            out.append(gate.current(q_ms * MS, age_ms))
    return out


def test_gate_holds_through_a_short_late_stretch():
    gate = PoseAgeGate(max_age_ms=100.0, hard_limit_ms=200.0, grace_ms=150.0)
    # fresh, then two late look-ups (one late camera frame), then fresh again
    assert _gate_answers(gate, [(0, 30), (33, 60), (66, 120), (99, 150), (132, 20)]) == [True] * 5


def test_gate_is_stale_at_once_beyond_the_hard_limit():
    gate = PoseAgeGate(max_age_ms=100.0, hard_limit_ms=200.0, grace_ms=10_000.0)
    assert _gate_answers(gate, [(0, 30), (33, 150), (66, 201), (99, 150), (132, 101), (165, 100)]) == \
        [True, True, False, False, False, True]  # back to current only at or below the lower limit


def test_gate_grace_period_bounds_a_persistently_late_pose():
    gate = PoseAgeGate(max_age_ms=100.0, hard_limit_ms=200.0, grace_ms=100.0)
    # every answer is 150 ms old (a tracker that fell behind): current for less than 100 ms only
    answers = _gate_answers(gate, [(0, 50)] + [(t, 150) for t in range(33, 400, 33)])
    assert answers[:5] == [True] * 5  # late from 33 ms on; at 132 ms it has been late for 99 ms < 100 ms
    assert not any(answers[5:])  # at 165 ms: late for 132 ms, stale and it stays stale while late
    assert _gate_answers(gate, [(400, 99)]) == [True]


def test_gate_without_grace_is_the_plain_threshold():
    gate = PoseAgeGate(max_age_ms=100.0, hard_limit_ms=200.0, grace_ms=0.0)
    ages = [30, 120, 40, 101, 100, 150]
    assert _gate_answers(gate, [(33 * i, a) for i, a in enumerate(ages)]) == [a <= 100 for a in ages]


def test_gate_after_a_loss_needs_a_fresh_pose():
    gate = PoseAgeGate(max_age_ms=100.0, hard_limit_ms=200.0, grace_ms=150.0)
    assert _gate_answers(gate, [(0, 30), (33, None), (66, 120), (99, 90)]) == [True, None, False, True]


def test_gate_out_of_order_query_uses_the_plain_threshold_and_keeps_the_state():
    gate = PoseAgeGate(max_age_ms=100.0, hard_limit_ms=200.0, grace_ms=150.0)
    assert _gate_answers(gate, [(100, 30), (133, 150)]) == [True, True]
    assert gate.current(50 * MS, 150.0) is False  # earlier than the last look-up
    assert gate.current(166 * MS, 180.0) is True  # the late stretch that began at 133 ms goes on


def test_gate_never_calls_a_pose_older_than_the_hard_limit_current():
    rng = np.random.default_rng(7)
    gate = PoseAgeGate(max_age_ms=100.0, hard_limit_ms=200.0, grace_ms=150.0)
    late_since = None
    for i in range(20_000):
        q = i * 33
        age = float(rng.choice([rng.uniform(0, 100), rng.uniform(100, 200), rng.uniform(200, 400)], p=[.6, .3, .1]))
        ok = gate.current(q * MS, age)
        if age > 200.0:
            assert not ok
        if ok and age > 100.0:
            late_since = q if late_since is None else late_since
            assert q - late_since < 150.0  # never held beyond the grace period
        else:
            late_since = None


def test_gate_refuses_inconsistent_limits():
    with pytest.raises(ValueError):
        PoseAgeGate(max_age_ms=100.0, hard_limit_ms=50.0, grace_ms=10.0)


def _camera_stream(buffer, times_ms):
    for t in times_ms:
        buffer.push(_m(t, float(t)))


def test_one_late_camera_frame_does_not_flip_the_pose_to_stale():
    # 30 Hz camera; the frame due at 100 ms arrives only after the 130 ms ultrasound look-up
    b = PoseBuffer(SyncConfig())
    states, ages = [], []
    _camera_stream(b, [0, 33, 66])
    for q in (80, 110, 130, 150):  # ultrasound look-ups while the frame is late: ages 14, 44, 64, 84 ms
        m = b.at(q * MS)
        states.append(m.validity)
    for q in (170, 190):  # still nothing new: these look-ups see a 104 / 124 ms old pose
        m = b.at(q * MS)
        states.append(m.validity)
        ages.append((q * MS - m.t_capture_ns) / 1e6)
    _camera_stream(b, [100, 133, 166, 199])  # the late frame and the next ones arrive
    states.append(b.at(205 * MS).validity)
    assert states == [Validity.OK] * 7
    assert ages == [104.0, 124.0]  # the true age: the pose keeps its own capture time


def test_really_old_pose_is_stale_even_right_after_a_current_one():
    b = PoseBuffer(SyncConfig(max_pose_age_ms=100.0, max_pose_age_hard_ms=200.0, pose_age_grace_ms=1e6))
    b.push(_m(0, 1.0))
    assert b.at(50 * MS).validity == Validity.OK
    assert b.at(150 * MS).validity == Validity.OK  # late, held by the hysteresis
    old = b.at(201 * MS)
    assert old.validity == Validity.STALE and not old.usable and old.t_capture_ns == 0
    assert b.at(190 * MS).validity == Validity.STALE  # out of order: plain threshold


def test_stale_pose_turns_current_only_with_a_fresh_pose():
    b = PoseBuffer(SyncConfig())
    b.push(_m(0, 1.0))
    assert b.at(250 * MS).validity == Validity.STALE
    b.push(_m(120, 2.0))  # a new pose, but already 150 ms old at the next look-up
    assert b.at(270 * MS).validity == Validity.STALE
    b.push(_m(200, 3.0))
    assert b.at(280 * MS).validity == Validity.OK


def test_zero_grace_restores_the_plain_threshold():
    b = PoseBuffer(SyncConfig(pose_age_grace_ms=0.0))
    _camera_stream(b, [0, 33, 66])
    assert b.at(150 * MS).validity == Validity.OK
    assert b.at(170 * MS).validity == Validity.STALE  # 104 ms: one late frame flips it


def test_one_missed_frame_is_bridged_and_two_are_lost():
    b = PoseBuffer(SyncConfig())  # lost_confirm_frames = 2
    b.push(_m(0, 0.0))
    b.push(_m(33, 3.3))
    b.push(PoseMeasurement.lost(66 * MS, "no_markers"))
    held = b.at(70 * MS)  # one miss: the last pose, 37 ms old, still current
    assert held.usable and held.T_camera_from_board[0, 3] == 3.3
    b.push(_m(100, 10.0))
    bridged = b.at(66 * MS)  # the miss lies between two good poses: interpolated across it
    assert bridged.usable and bridged.reason == "interpolated" and 6.0 < bridged.T_camera_from_board[0, 3] < 7.0
    b.push(PoseMeasurement.lost(133 * MS, "no_markers"))
    b.push(PoseMeasurement.lost(166 * MS, "no_markers"))
    gone = b.at(170 * MS)  # two misses in a row: the board is gone
    assert gone.validity == Validity.LOST and gone.T_camera_from_board is None
    assert b.at(140 * MS).usable  # after the first of them only: held


def test_a_bridged_miss_never_outlives_the_age_limit():
    b = PoseBuffer(SyncConfig(lost_confirm_frames=5, max_pose_age_ms=100.0, max_pose_age_hard_ms=200.0))
    b.push(_m(0, 0.0))
    for k in range(1, 5):
        b.push(PoseMeasurement.lost(k * 60 * MS, "no_markers"))
    assert not b.at(250 * MS).usable  # four misses held off "lost", but the pose is 250 ms old

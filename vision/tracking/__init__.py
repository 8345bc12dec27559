"""Probe pose tracking: marker boards, detection, robust pose, filtering and time synchronisation.

Modules (one job each):

* ``board``: board files (ChArUco, ArUco cube) and their OpenCV objects;
* ``config``: ``TrackingConfig`` (section ``[tracking]``);
* ``detect``: marker decoding and board-predicted ChArUco corner refinement;
* ``pnp``: IPPE/LM/SQPnP pose, planar ambiguity test, first-order covariance;
* ``board_tracker``: ``BoardTracker.process(image, t_capture_ns) -> PoseMeasurement``;
* ``filter``: ``PoseFilter`` (SE(3) Kalman or One-Euro) and prediction;
* ``sync``: ``PoseBuffer`` (ring buffer, SLERP/LERP at the ultrasound capture time);
* ``igtl``: poses from OpenIGTLink TRANSFORM messages (PLUS, 3D Slicer);
* ``simulate``: rendered frames of the board at a known pose (the synthetic marker camera, tests).

Rendered data sets and their evaluation (``sonoguide track render / eval``) are research:
:mod:`research.tracking`.
"""

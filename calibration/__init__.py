"""Calibration of the transform chain: pure algorithms and the calibration file format.

``T_headset_from_image = T_headset_from_camera @ T_camera_from_marker @ T_marker_from_image``:
camera intrinsics (:mod:`.intrinsics`, :mod:`.coverage`), the stylus tip (:mod:`.pivot`), the
ultrasound image to the probe marker (:mod:`.us_points`, :mod:`.nwire`), the tracking camera to
the headset (:mod:`.hand_eye`), the stream lag (:mod:`.temporal`) and the whole-chain check
(:mod:`.verify`); :mod:`.io` is the file format, :mod:`.inputs` reads offline captures and
:mod:`.report` draws the PNG reports. The ``sonoguide calibrate`` commands that drive them live
in :mod:`sonoguide.calibrate`; this package imports only :mod:`core`.
"""

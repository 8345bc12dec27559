"""``sonoguide calibrate ACTION``: the engineer's calibration commands (camera, pivot, us-probe,
hand-eye, temporal, verify).

Each action is one module here with ``add_arguments(parser)`` and ``run(args) -> int``: it reads a
recorded capture (or captures one from the configured sources), calls the pure algorithms of
:mod:`calibration`, writes the calibration file (:mod:`calibration.io`) and the PNG report
(:mod:`calibration.report`), and prints the figures (``--json``: one JSON line). This follows
scikit-surgery's split ``ui/*_command_line.py -> *_app.py -> algorithms``.
"""

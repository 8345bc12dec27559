"""The ground floor: errors, configuration helpers, shared types, geometry and the version.

Every other package imports from here; ``core`` imports nothing of the project (a test in
``tests/test_architecture.py`` holds the rule):

* :mod:`core.errors` - the exception hierarchy with actionable messages and exit codes;
* :mod:`core.configtools` - TOML tables into validated frozen dataclasses (allowed values declared
  in field metadata and checked once, nested sections, flat keys of the previous release);
* :mod:`core.types` - ``Frame``, ``Validity`` and the per-frame results;
* :mod:`core.pose` - ``PoseMeasurement``, a timestamped pose with its validity and covariance;
* :mod:`core.se3` - rigid transforms (SE(3)) and their interpolation;
* :mod:`core.frames` - the named coordinate frames with their units and the transform graph;
* :mod:`core.camera` - the pinhole camera model (intrinsics and distortion) and its file;
* :mod:`core.version` - the software version;
* :mod:`core.subcommands` - command-line groups that several packages fill (``seg``, ``voice``).
"""

"""Evaluation of the needle tracking on phantom sequences.

* :mod:`.evaluate`, :mod:`.report` - tip and angle error, detection and proximity levels, and the
  PNG report (``needle eval``);
* :mod:`.cli` - that command.

The real-time stage it measures is :mod:`vision.needle`.
"""

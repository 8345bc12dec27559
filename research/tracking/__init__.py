"""Evaluation of the probe pose tracking on rendered or recorded data sets of stills.

* :mod:`.dataset` - rendered data sets with ground truth (``track render``);
* :mod:`.evaluate`, :mod:`.report` - detection rate, pose error and throughput, and the PNG report
  (``track eval``);
* :mod:`.cli` - those commands.

The real-time stage it measures is :mod:`vision.tracking`.
"""

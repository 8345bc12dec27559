"""Research code: training, evaluation, cross-validation, data generation, quantisation and export.

It sits on top of the real-time packages and uses them (the live :class:`Segmenter`, the voice
listener's processing) to measure and build what they run; nothing of the real-time system
imports it (``tests/test_architecture.py`` holds the rule):

* :mod:`research.segmentation` - ``sonoguide seg train / eval / crossval / card / quantize /
  export``: training the segmentation networks, their evaluation and cross-validation, the
  confidence gate's reliability, int8 quantisation and the ONNX file export;
* :mod:`research.voice` - ``sonoguide voice eval / calibrate / gen-data / train-verifier /
  combine-verifiers``: the recognition evaluation, fitting the fusion and the score thresholds,
  synthetic test data, and training the learned intent verifier and VAD;
* :mod:`research.tracking` - ``sonoguide track eval / render``: the probe tracking's evaluation on
  data sets of stills, and rendered data sets with ground truth;
* :mod:`research.needle` - ``sonoguide needle eval``: the needle tracking's evaluation on phantom
  sequences.
"""

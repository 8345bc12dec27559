"""Evaluation, threshold fitting, test-data generation and verifier training for the voice commands.

* :mod:`.evaluate` - accuracy, false accepts and latency on a manifest of labelled clips
  (``voice eval``);
* :mod:`.thresholds`, :mod:`.fusion_fit`, :mod:`.calibrate` - fitting the fusion weights and the
  score thresholds that the live defence reads (``voice calibrate``);
* :mod:`.datagen`, :mod:`.corpus` - synthetic command and chatter clips in theatre noise
  (``voice gen-data``);
* :mod:`.verifier` - the learned intent verifier's and VAD's training data and training
  (``voice train-verifier``, ``voice combine-verifiers``);
* :mod:`.cli` - those commands.

The live listener it measures is :mod:`voice`.
"""

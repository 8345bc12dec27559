"""Training the learned intent verifier and frame VAD that :mod:`voice.verifier` runs live.

* :mod:`.corpus`, :mod:`.corpus_ko` - training chatter, voices and babble (never in the
  calibration or test splits);
* :mod:`.synth` - the synthetic training set (espeak-ng speech, noise, reverberation);
* :mod:`.train` - training and validation of the verifier and the VAD, their model cards;
* :mod:`.ensemble` - several trained verifiers combined into one;
* :mod:`.app` - the application functions of ``voice train-verifier`` and ``voice combine-verifiers``.
"""

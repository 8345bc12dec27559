"""Training, evaluation, cross-validation, quantisation and export of the segmentation network.

* :mod:`.data`, :mod:`.augment`, :mod:`.train` - labelled data sets, augmentation and training
  (``seg train``);
* :mod:`.evaluate`, :mod:`.reliability`, :mod:`.crossval` - metrics at native resolution, the
  confidence gate's reliability, k-fold pooling (``seg eval``, ``seg card``, ``seg crossval``);
* :mod:`.quantize` - int8 post-training quantisation (``seg quantize``);
* :mod:`.export` - the ONNX file for other runtimes (``seg export``);
* :mod:`.cli` - those commands.

The real-time stage it trains and measures is :mod:`vision.segmentation`.
"""

"""The software version, recorded in calibration files, recordings and model cards."""

__version__ = "0.1.0"

"""Rendered calibration data with known truth (camera views, ...) and evaluation of the calibrate commands."""

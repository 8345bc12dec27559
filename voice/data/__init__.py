"""Bundled command sets, calibration files and the demo script audio (package data)."""

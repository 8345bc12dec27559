"""sonoguide package."""

"""sonoguide: hands-free AR guidance for ultrasound-guided regional anaesthesia."""

__version__ = "0.1.0"

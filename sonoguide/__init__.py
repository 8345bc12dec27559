"""sonoguide: hands-free AR guidance for ultrasound-guided regional anaesthesia."""

from core.version import __version__

__all__ = ["__version__"]

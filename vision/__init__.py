"""Vision: ultrasound and camera sources, segmentation, tracking, needle detection, phantom."""

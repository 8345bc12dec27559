"""In-plane needle detection, tracking and proximity warnings in the ultrasound image."""

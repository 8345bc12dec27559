"""Voice: offline, sterile-field voice commands."""

"""Audio input: sources, WAV reading, resampling, voice-activity detection."""

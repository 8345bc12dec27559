"""Learned second pass: an utterance-level intent verifier and a frame-level voice-activity model."""

"""Speech engines behind one streaming interface (PocketSphinx, Vosk) and their selection."""

"""phantom."""

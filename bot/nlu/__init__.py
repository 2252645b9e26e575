"""Natural-language understanding additions to the Rasa pipeline (sentence embeddings)."""

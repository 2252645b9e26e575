"""Customs assistant: knowledge base tooling, channels and launcher (no TensorFlow at import)."""

"""Custom actions for the rasa-sdk action server."""

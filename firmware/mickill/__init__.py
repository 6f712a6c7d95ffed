"""mickill: physical, scheduled control over a smart speaker's microphone."""

__version__ = "0.1.0"

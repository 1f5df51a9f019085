"""Model loading, conversion and generation."""

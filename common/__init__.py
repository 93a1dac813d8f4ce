"""Torch-free helpers every layer may import."""

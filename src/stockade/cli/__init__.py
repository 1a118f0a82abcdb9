"""Stockade cli package."""

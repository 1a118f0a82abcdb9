"""Stockade scanner matcher package."""

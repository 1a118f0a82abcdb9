"""Stockade scanner package."""

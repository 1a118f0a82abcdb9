"""Stockade admission package."""

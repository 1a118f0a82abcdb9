"""Stockade sensor package."""

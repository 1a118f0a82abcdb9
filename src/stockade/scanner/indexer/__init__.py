"""Stockade scanner indexer package."""

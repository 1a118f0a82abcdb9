"""Stockade model package."""

"""Stockade collector package."""

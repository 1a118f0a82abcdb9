"""Stockade core package."""

"""Stockade policy package."""

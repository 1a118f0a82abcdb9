"""Stockade central package."""

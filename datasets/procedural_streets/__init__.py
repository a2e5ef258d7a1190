"""Procedural street scenes in a synthetic and a realistic domain (TFDS `procedural_streets`).

Kept free of imports on purpose: pytest imports this folder as a package when it collects
the builder test, and importing the builder under two module names would register it twice
with TFDS.
"""

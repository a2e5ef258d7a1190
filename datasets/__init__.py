"""TFDS builders, installed as `gta_keras.datasets`.

Kept free of imports on purpose: pytest imports these folders as packages when it collects
the builder tests, and importing a builder twice under two module names would register it
twice with TFDS. `gta_keras.data.builders` imports every builder once.
"""

"""The GTA5 ("Playing for Data") TFDS builder, `gta5_dataset_builder.Builder`.

Kept free of imports on purpose: pytest imports this folder as a package when it collects
the builder test, and importing the builder under two module names would register it twice
with TFDS. Import it as `gta_keras.datasets.gta5.gta5_dataset_builder`.
"""

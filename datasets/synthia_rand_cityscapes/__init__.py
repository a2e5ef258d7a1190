"""The SYNTHIA-RAND-CITYSCAPES TFDS builder.

Kept free of imports on purpose: pytest imports this folder as a package when it collects
the builder test, and importing the builder under two module names would register it twice
with TFDS. Import it as
`gta_keras.datasets.synthia_rand_cityscapes.synthia_rand_cityscapes_dataset_builder`.
"""

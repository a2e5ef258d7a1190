"""Installs gta_keras: GAN-based domain adaptation for semantic segmentation."""

import setuptools

setuptools.setup(
    name="gta_keras",
    version="0.1.0",
    description=(
        "TensorFlow 2 / Keras 3 implementation of 'Learning from Synthetic Data: "
        "Addressing Domain Shift for Semantic Segmentation' (CVPR 2018)."
    ),
    python_requires=">=3.11",
    # The folder `datasets/` is mapped into the package as `gta_keras.datasets`: a
    # top-level module named `datasets` would shadow Hugging Face's package.
    packages=setuptools.find_packages(include=["gta_keras", "gta_keras.*"])
    + [
        "gta_keras.datasets." + name
        for name in setuptools.find_packages(where="datasets")
    ]
    + ["gta_keras.datasets"],
    package_dir={"gta_keras.datasets": "datasets"},
    # Files the builders read at build time, and their TFDS descriptions.
    package_data={"gta_keras.datasets": ["*/validation_frames.txt", "*/README.md",
                                         "*/CITATIONS.bib"]},
    install_requires=[
        "tensorflow==2.21.*",
        "keras>=3.12",
        "tensorflow-datasets==4.9.10",
        "absl-py>=2.1",
        "gin-config==0.5.0",
        "tensorboard==2.21.*",
        "numpy>=1.26",
        "pillow>=10",
        # The experiment scripts' figures (scripts/retrieval.py, scripts/plot_run.py).
        "matplotlib>=3.8",
        # TFDS imports these lazily (tensorflow/datasets#11212) in builders' code paths.
        "importlib_resources>=6",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            # `make test` runs the suite in two processes (one file per process).
            "pytest-xdist>=3.5",
            "dill>=0.3",
            # Checks our Cityscapes id -> trainId table against the official one.
            "cityscapesscripts==2.3.0",
        ],
    },
)

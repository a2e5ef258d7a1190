"""The flags that `gta_keras.main` and `gta_keras.predict` share, defined once.

absl refuses a flag defined twice in one process; defining these here lets both command
lines be imported together (the tests do), and keeps their meaning the same in both.
"""

from absl import flags

GIN_FILE = flags.DEFINE_multi_string(
    "gin_file", [], "Gin config files, applied in order (predict --workdir: default the "
    "run's operative_config.gin).")
GIN_BINDINGS = flags.DEFINE_multi_string(
    "gin_bindings", [], "Gin bindings applied after the files, e.g. 'train.steps = 10'.")
WORKDIR = flags.DEFINE_string(
    "workdir", None, "Folder of the run: checkpoints, logs, eval, export (predict: "
    "segments with its newest checkpoint).")

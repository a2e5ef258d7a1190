"""Writes the validation frame lists committed with the GTA5 and SYNTHIA builders.

The paper holds out a random 1000 GTA5 frames and a random 100 SYNTHIA-RAND-CITYSCAPES
frames for validation, without saying which. These lists fix one such choice. Frames are
ranked by the SHA-256 of "<seed>:<file name>" and the first k are kept: the same list on
every machine and Python version, which `random.sample` does not promise.

Usage (from the repository root):

    python datasets/make_validation_lists.py

Each list is written to `datasets/<name>/validation_frames.txt`, one file name a line
after a '#' header. The builders read it with `read_validation_list`.
"""

import hashlib
import pathlib

SEED = "gta_keras"
LIST_FILE_NAME = "validation_frames.txt"

# Real file names of each dataset and how many frames the paper validates on.
FRAME_NAMES = {
    "gta5": tuple(f"{i:05d}.png" for i in range(1, 24_967)),
    "synthia_rand_cityscapes": tuple(f"{i:07d}.png" for i in range(9_400)),
}
NUM_VALIDATION_FRAMES = {"gta5": 1000, "synthia_rand_cityscapes": 100}


def select_validation_frames(names, count, seed=SEED):
    """Picks `count` names at random, reproducibly.

    Args:
      names: the file names to choose from.
      count: how many to keep.
      seed: a string that selects one of the possible random choices.

    Returns:
      The chosen names, sorted.
    """
    ranked = sorted(names, key=lambda name: hashlib.sha256(f"{seed}:{name}".encode()).digest())
    return sorted(ranked[:count])


def list_text(dataset):
    """The full text of a dataset's validation list file.

    Args:
      dataset: "gta5" or "synthia_rand_cityscapes".

    Returns:
      The header and one file name a line.
    """
    names = FRAME_NAMES[dataset]
    chosen = select_validation_frames(names, NUM_VALIDATION_FRAMES[dataset])
    header = (
        f"# {len(chosen)} of the {len(names)} {dataset} frames ({names[0]}..{names[-1]}) "
        "form the validation split;\n"
        "# the rest are training frames. Written by datasets/make_validation_lists.py "
        f"(SHA-256 ranking, seed {SEED!r}).\n"
        "# Do not edit: results are only comparable on the same split.\n"
    )
    return header + "".join(f"{name}\n" for name in chosen)


def read_validation_list(text):
    """Parses a validation list file.

    Args:
      text: the file's content.

    Returns:
      A frozenset of file names.
    """
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def main():
    datasets_dir = pathlib.Path(__file__).resolve().parent
    for dataset in FRAME_NAMES:
        path = datasets_dir / dataset / LIST_FILE_NAME
        path.write_text(list_text(dataset))
        print(f"Wrote {path}")


if __name__ == "__main__":
    main()

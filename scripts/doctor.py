"""Checks a manually downloaded dataset before it is built, and reports what is wrong.

    python scripts/doctor.py --dataset=gta5 --manual_dir=/data/gta5

It reads the folder exactly as the TFDS builder will (the same functions) and checks:
the folder layout; the image/label pairs of each split and files without a partner; that
every image and label decodes (for SYNTHIA, that labels are the 16-bit originals);
image/label size mismatches; and label values outside the dataset's mapping. It prints a
report with counts and the offending files, and never writes anything.

Exit status 1 for problems that would break the build or leave nothing to train on:
missing folders, no pairs, files that do not decode, 8-bit SYNTHIA labels. Exit status 0
otherwise, with warnings for what the builder skips or maps to void: size mismatches,
files without a partner, label values outside the mapping.
"""

from gta_keras import quiet  # First: before anything imports TensorFlow (see quiet.py).

if __name__ == "__main__":  # Run as a program, not imported: hide TF's start-up lines.
    quiet.install()

import dataclasses
import importlib
import sys

from absl import app
from absl import flags
import numpy as np

from gta_keras import label_maps

# Each builder module offers scan_manual_dir, read_image and read_raw_label, the functions
# its builder reads with. Only the one asked for is imported: SYNTHIA's needs TensorFlow,
# which takes seconds to import, and the others do not.
BUILDERS = {
    name: f"gta_keras.datasets.{name}.{name}_dataset_builder"
    for name in ("camvid", "gta5", "synthia_rand_cityscapes")
}
_PROGRESS_EVERY = 1000

_DATASET = flags.DEFINE_enum("dataset", None, sorted(BUILDERS), "The dataset to check.")
_MANUAL_DIR = flags.DEFINE_string(
    "manual_dir", None, "The folder the dataset was downloaded and extracted into."
)
_MAX_PAIRS = flags.DEFINE_integer(
    "max_pairs", 0,
    "Decode at most this many pairs per split (0: all of them). Layout and pair counts are "
    "always checked in full.",
)


@dataclasses.dataclass
class Report:
    """What the doctor found.

    Attributes:
      dataset: the dataset name.
      manual_dir: the folder checked.
      layout_error: why the folder layout is unusable, or None.
      root: the folder holding the data, once found.
      split_counts: split -> number of image/label pairs.
      checked_pairs: how many pairs were decoded.
      notes: facts from the scan, e.g. how much of the validation list is present.
      unpaired: files without a partner.
      unreadable: one message per file that does not decode, naming it.
      size_mismatches: one message per pair whose image and label sizes differ.
      unknown_values: one message per label holding values outside the mapping.
    """

    dataset: str
    manual_dir: str
    layout_error: str = None
    root: str = None
    split_counts: dict = dataclasses.field(default_factory=dict)
    checked_pairs: int = 0
    notes: list = dataclasses.field(default_factory=list)
    unpaired: list = dataclasses.field(default_factory=list)
    unreadable: list = dataclasses.field(default_factory=list)
    size_mismatches: list = dataclasses.field(default_factory=list)
    unknown_values: list = dataclasses.field(default_factory=list)

    @property
    def failed(self):
        """Whether building would fail or produce nothing."""
        return bool(self.layout_error or self.unreadable)

    @property
    def num_warnings(self):
        return len(self.unpaired) + len(self.size_mismatches) + len(self.unknown_values)


def _read(read_fn, path, report):
    """Decodes a file with the builder's reader, noting a failure instead of raising."""
    try:
        return read_fn(path)
    except ValueError as error:
        report.unreadable.append(str(error))
        return None


def _check_pair(module, pair, known_ids, report):
    image = _read(module.read_image, pair.image_path, report)
    label = _read(module.read_raw_label, pair.label_path, report)
    if image is None or label is None:
        return
    if image.shape[:2] != label.shape:
        report.size_mismatches.append(
            f"{pair.image_path} is {image.shape[1]}x{image.shape[0]}, "
            f"{pair.label_path} is {label.shape[1]}x{label.shape[0]}"
        )
    unknown = sorted(set(np.unique(label).tolist()) - known_ids)
    if unknown:
        report.unknown_values.append(f"{pair.label_path}: {unknown}")


def diagnose(dataset, manual_dir, max_pairs=0):
    """Runs every check on a downloaded dataset.

    Args:
      dataset: a key of `BUILDERS`.
      manual_dir: the folder to check.
      max_pairs: decode at most this many pairs per split; 0 decodes all.

    Returns:
      A `Report`.
    """
    module = importlib.import_module(BUILDERS[dataset])
    report = Report(dataset=dataset, manual_dir=str(manual_dir))
    try:
        scan = module.scan_manual_dir(manual_dir)
    except FileNotFoundError as error:
        report.layout_error = str(error)
        return report
    report.root = str(scan.root)
    report.notes = list(scan.notes)
    report.unpaired = [str(path) for path in scan.unpaired]
    report.split_counts = {split: len(pairs) for split, pairs in scan.splits.items()}
    known_ids = label_maps.KNOWN_LABEL_IDS[dataset]
    to_check = [pair for pairs in scan.splits.values() for pair in pairs[: max_pairs or None]]
    for pair in to_check:
        _check_pair(module, pair, known_ids, report)
        report.checked_pairs += 1
        if report.checked_pairs % _PROGRESS_EVERY == 0:
            # Progress goes to stderr so that stdout holds only the report.
            print(f"Checked {report.checked_pairs} of {len(to_check)} pairs.", file=sys.stderr)
    return report


def _section(title, items, consequence=""):
    lines = [f"{title}: {len(items)}{consequence if items else ''}"]
    return lines + [f"  {item}" for item in items]


def format_report(report):
    """Renders a report as text.

    Args:
      report: a `Report`.

    Returns:
      The text, ending with the verdict.
    """
    lines = [f"Dataset doctor: {report.dataset} in {report.manual_dir}"]
    if report.layout_error:
        lines += ["Layout: PROBLEM", report.layout_error.rstrip()]
    else:
        counts = ", ".join(f"{split} {count}" for split, count in report.split_counts.items())
        total = sum(report.split_counts.values())
        lines += [
            f"Layout: OK, data in {report.root}",
            f"Pairs: {counts} ({total} in total); decoded {report.checked_pairs}",
        ]
        lines += report.notes
        lines += _section("Files without a partner", report.unpaired, " (the build ignores them)")
        lines += _section("Unreadable files", report.unreadable, " (the build stops at these)")
        lines += _section(
            "Image/label size mismatches", report.size_mismatches,
            " (the build skips these pairs)",
        )
        lines += _section(
            "Labels with values outside the mapping", report.unknown_values,
            " (these values become void)",
        )
    if report.failed:
        lines.append("Result: FAILED. Fix the problems above before building.")
    elif report.num_warnings:
        lines.append(f"Result: OK with {report.num_warnings} warning(s); see above.")
    else:
        lines.append("Result: OK.")
    return "\n".join(lines)


def main(argv):
    del argv  # Unused.
    report = diagnose(_DATASET.value, _MANUAL_DIR.value, _MAX_PAIRS.value)
    print(format_report(report))
    sys.stdout.flush()
    return 1 if report.failed else 0


if __name__ == "__main__":
    flags.mark_flags_as_required(["dataset", "manual_dir"])
    app.run(main)

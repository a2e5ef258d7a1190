"""`staged_files`: copies of source files laid out as setup.py installs them.

setup.py maps the folder `datasets/` onto the package `gta_keras.datasets`
(`package_dir={"gta_keras.datasets": "datasets"}`). Bazel puts a file in its runfiles at its
source path, where `datasets/` would be a top-level package (and `gta_keras.datasets` would not
exist, or would silently come from an editable install of the working tree). So the BUILD
stages every file it uses under `staged/`, with the same mapping:

    gta_keras/losses.py          -> staged/gta_keras/losses.py
    datasets/gta5/gta5_...py     -> staged/gta_keras/datasets/gta5/gta5_...py
    tests/test_losses.py         -> staged/tests/test_losses.py
    gin/smoke.gin                -> staged/gin/smoke.gin

and `imports = ["staged"]` puts `staged/` on sys.path. The copies are real files, not
symlinks, so code that calls `Path(__file__).resolve()` stays inside Bazel's output tree.
Each output is a label of its own (`//:staged/tests/test_losses.py`).
"""

STAGE = "staged"

# setup.py's package_dir, as source folder -> folder in the installed tree.
PACKAGE_DIR = {"datasets": "gta_keras/datasets"}

def staged_path(src, package_dir = PACKAGE_DIR):
    """Where `src` (a path relative to the workspace root) is staged."""
    for folder, installed in package_dir.items():
        if src.startswith(folder + "/"):
            return STAGE + "/" + installed + src[len(folder):]
    return STAGE + "/" + src

def _staged_files_impl(ctx):
    if len(ctx.files.srcs) != len(ctx.outputs.outs):
        fail("srcs must be files, one per output")
    for src, out in zip(ctx.files.srcs, ctx.outputs.outs):
        ctx.actions.run_shell(
            inputs = [src],
            outputs = [out],
            command = 'cp "$1" "$2"',
            arguments = [src.path, out.path],
            mnemonic = "StageFile",
            progress_message = "Staging %s" % src.short_path,
        )
    files = depset(ctx.outputs.outs)
    return [DefaultInfo(files = files, runfiles = ctx.runfiles(transitive_files = files))]

_staged_files = rule(
    implementation = _staged_files_impl,
    attrs = {
        "srcs": attr.label_list(allow_files = True),
        "outs": attr.output_list(),
    },
)

def staged_files(name, srcs, package_dir = PACKAGE_DIR, **kwargs):
    """Copies `srcs` (file paths of this package) to their staged paths.

    `package_dir = {}` stages files where the repository has them (e.g. the dummy data that
    tests find as `<repo>/datasets/gta5/dummy_data`, which setup.py does not install).
    """
    _staged_files(
        name = name,
        srcs = srcs,
        outs = [staged_path(src, package_dir) for src in srcs],
        **kwargs
    )

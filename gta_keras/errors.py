"""The error of a setting that cannot work, shared by every layer of the package.

Raised where a gin setting is checked (the models, the losses, the data pipeline, the
experiment), and reported by every command line in one line (`user_errors`). A
`ValueError`, so that code catching that still does.
"""


class ConfigurationError(ValueError):
    """A setting that cannot work (the command line reports it in one line)."""

"""The student template: every name a submission defines, as TODO stubs.

Copy it with ``nncheck.cli.template.write_template(dest_dir)``.
"""
from .assignment import *  # noqa: F401,F403
from .assignment import __all__  # noqa: F401

"""The built-in output formats (``--format``)."""
import nncheck
from nncheck.report.gradescope import render_gradescope
from nncheck.report.html import render_html
from nncheck.report.junit import render_junit
from nncheck.report.prairielearn import render_prairielearn
from nncheck.report.text import render_json, render_text


@nncheck.hookimpl
def nncheck_report_formats():
    return {"text": render_text, "json": render_json, "html": render_html,
            "gradescope": render_gradescope, "prairielearn": render_prairielearn, "junit": render_junit}

"""The built-in output formats (``--format``)."""
import nncheck
from nncheck.reports import render_json, render_text


@nncheck.hookimpl
def nncheck_report_formats():
    return {"text": render_text, "json": render_json}

"""Reports: text, JSON, HTML, the platforms' formats, plots and feedback levels."""

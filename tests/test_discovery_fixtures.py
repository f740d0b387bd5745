"""The option fixture corpus (tests/fixtures/options): each file is an option written the way
real students write it (our own code, one style per file), with its expected verdicts in a
``# expect:`` line: ``family=status`` (``passed``, ``failed``, ``skipped``, ``error``) and optionally
``family:diagnosis`` for a code the failed family must carry. A fixture that is another with a pin
or one changed line says ``# from:`` (see :func:`fixture_code`). See docs/option-styles.md."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from nncheck.config import Config
from nncheck.engine import Engine

HERE = Path(__file__).parent / "fixtures" / "options"
FIXTURES = sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_"))
# the experiments train networks for seconds each; the fixtures grade the form, not the experiment
SKIP_CHECKS = re.compile(r"\.experiment$")


def fixture_code(fixture: Path) -> str:
    """The fixture's code. A fixture that is another one with a pin or a one-line change says so:
    ``# from: <fixture>`` takes that fixture's code (without its comment header), and each
    ``# replace: old => new`` line edits it (the text must be there)."""
    text = fixture.read_text()
    m = re.search(r"^# from: (\w+)$", text, re.M)
    if not m:
        return text
    base = (HERE / f"{m.group(1)}.py").read_text()
    code = base[re.search(r"^(?!#)", base, re.M).start():]
    for old, new in re.findall(r"^# replace: (.+?) => (.+)$", text, re.M):
        assert old in code, f"{fixture.name}: {old!r} is not in {m.group(1)}"
        code = code.replace(old, new)
    return text + code


def compose(fixture: Path) -> str:
    core = (HERE / "_core.py").read_text()
    text = fixture_code(fixture)
    dense = "" if re.search(r"^class Dense\b", text, re.M) else (HERE / "_dense.py").read_text()
    return core.replace("\n%DENSE%\n", "\n" + dense + "\n\n" + text + "\n")


def expectations(fixture: Path):
    text = fixture.read_text()
    m = re.search(r"^# expect: (.+)$", text, re.M)
    assert m, f"{fixture.name} has no '# expect:' line"
    statuses, diagnoses = {}, {}
    for part in m.group(1).split(","):
        part = part.strip()
        if "=" in part:
            fam, status = part.split("=")
            statuses[fam.strip()] = status.strip()
        elif ":" in part:
            fam, code = part.split(":")
            diagnoses.setdefault(fam.strip(), []).append(code.strip())
    return statuses, diagnoses


@pytest.fixture(scope="module")
def engine():
    return Engine(Config(), entry_points=False)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_option_fixture(fixture, engine, tmp_path):
    statuses, diagnoses = expectations(fixture)
    sub = tmp_path / "submission.py"
    sub.write_text(compose(fixture))
    families = sorted(statuses)
    report = engine.grade(sub, only=["dense", *families], seed=3)
    by_family = {}
    for c in report.checks:
        if SKIP_CHECKS.search(c.id):
            continue
        by_family.setdefault(c.family, []).append(c)
    # core verdicts never change because of discovery: the shared core passes
    if not re.search(r"^# core: failed", fixture.read_text(), re.M):
        for c in by_family.get("dense", []):
            assert str(c.status) == "passed", (fixture.name, c.id, c.message)
    for fam, want in statuses.items():
        got = by_family.get(fam, [])
        assert got, f"{fixture.name}: no checks of family {fam}"
        summary = [(c.id, str(c.status), c.message[:300]) for c in got]
        if want == "passed":
            assert all(str(c.status) == "passed" for c in got), summary
        elif want == "skipped":
            assert all(str(c.status) == "skipped" for c in got), summary
        elif want == "failed":
            assert any(str(c.status) == "failed" for c in got), summary
            assert not any(str(c.status) in ("error", "timeout") for c in got), summary
        elif want == "error":  # the student's code raised: graded, no points, the exception is the verdict
            assert any(str(c.status) == "error" for c in got), summary
        codes = {d for c in got for d in c.diagnosis}
        for code in diagnoses.get(fam, []):
            assert code in codes, (code, summary)
    # the report says what was graded as what (a canonical name needs no words)
    options = report.load.get("options", {})
    for fam, want in statuses.items():
        form = options.get("graded", {}).get(fam)
        if form is not None and want != "skipped":
            assert all(c.message.startswith(f"graded `{form['label']}`") for c in by_family[fam]
                       if str(c.status) != "skipped"), [c.message for c in by_family[fam]]
    if fixture.stem == "several_candidates":
        assert "xavier" in options.get("several", {}), options
        assert "# nncheck: xavier =" in options["several"]["xavier"]

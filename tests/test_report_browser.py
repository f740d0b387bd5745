"""The HTML report in a real headless Chromium, driven over the Chrome DevTools Protocol.

For the reference, the student template and a buggy submission: the page
loads with no console errors and no network request, the score and a failed
check's hint are on screen, a collapsed ``<details>`` opens when its summary
is clicked, nothing overflows a phone's width, and print media shows the
collapsed parts. Screenshots are kept under ``artifacts/`` (gitignored).

Chromium is Debian's ``chromium`` (or ``$NNCHECK_CHROMIUM``); when missing,
the session fixture installs it with apt-get if it runs as root, and skips
with the reason otherwise. The CDP client needs ``websocket-client``.
"""
from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from nncheck.config import Config
from nncheck.engine import Engine
from nncheck.model import Status
from nncheck.report.html import render_html
from nncheck.variants import REFERENCE_DIR, Variant

from conftest import apt_install, machine_lock

# one test process starts Chromium (and installs it if need be) for every test of this file
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts"
TEMPLATE = REPO / "student_template"


# --------------------------------------------------------------------------
# Finding (or installing) Chromium


def _find_chromium() -> str | None:
    env = os.environ.get("NNCHECK_CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    path = _find_chromium()
    if path:
        return path
    if not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        pytest.skip("no headless Chromium: `chromium` is not installed and this run cannot install it "
                    "(needs root and apt-get); install Debian's chromium or set NNCHECK_CHROMIUM")
    try:
        with machine_lock("chromium"):  # one test process installs it; the others find it
            if not _find_chromium():
                apt_install("chromium")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        tail = getattr(exc, "stderr", b"") or b""
        pytest.skip(f"no headless Chromium: installing Debian's chromium failed ({exc}; "
                    f"{tail.decode(errors='replace')[-300:]})")
    path = _find_chromium()
    if not path:
        pytest.skip("no headless Chromium: apt-get installed chromium but no executable was found")
    return path


# --------------------------------------------------------------------------
# A tiny Chrome DevTools Protocol client


class CDP:
    """One browser-level websocket; commands to a page go with its sessionId (flat mode)."""

    def __init__(self, ws_url: str):
        websocket = pytest.importorskip(
            "websocket", reason="websocket-client is needed to drive Chromium (pip install -e '.[test]')")
        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 60) -> dict:
        msg_id = next(self.ids)
        msg = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)
        raise TimeoutError(method)

    def wait_for(self, method: str, session: str, since: int = 0, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        seen = since
        while time.monotonic() < deadline:
            for ev in self.events[seen:]:
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return ev
            seen = len(self.events)
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                reply = json.loads(self.ws.recv())
            finally:
                self.ws.settimeout(60)
            if "method" in reply:
                self.events.append(reply)
        raise TimeoutError(method)

    def close(self):
        self.ws.close()


class Browser:
    def __init__(self, executable: str, tmp: Path):
        self.profile = tmp / "profile"
        self.profile.mkdir(parents=True, exist_ok=True)
        self.log = open(tmp / "chromium.log", "wb")
        self.proc = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-quic", "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
             "--mute-audio", "--hide-scrollbars", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or len(port_file.read_text().split()) < 2:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = (tmp / "chromium.log").read_text(errors="replace")[-1500:]
                pytest.fail(f"Chromium did not start its DevTools endpoint:\n{log}")
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        self.cdp = CDP(f"ws://127.0.0.1:{port}{path}")

    def open(self, url: str, width: int = 1200, height: int = 900, mobile: bool = False) -> "Tab":
        target = self.cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        tab = Tab(self.cdp, session, target)
        for domain in ("Page", "Runtime", "Log", "Network"):
            tab.send(f"{domain}.enable")
        tab.send("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": height, "deviceScaleFactor": 2 if mobile else 1, "mobile": mobile})
        start = len(self.cdp.events)
        tab.send("Page.navigate", {"url": url})
        self.cdp.wait_for("Page.loadEventFired", session, since=start)
        return tab

    def stop(self):
        try:
            if getattr(self, "cdp", None):
                self.cdp.close()
        finally:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)   # our own process group: chromium and its helpers
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=15)
            self.log.close()


class Tab:
    def __init__(self, cdp: CDP, session: str, target: str):
        self.cdp, self.session, self.target = cdp, session, target

    def send(self, method, params=None):
        return self.cdp.send(method, params, session=self.session)

    def js(self, expression: str):
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                             "awaitPromise": True})
        if "exceptionDetails" in res:
            raise AssertionError(f"page script failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def events(self, *methods):
        return [e for e in self.cdp.events if e.get("sessionId") == self.session and e.get("method") in methods]

    def console_errors(self) -> list[str]:
        errs = []
        for e in self.events("Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded"):
            p = e["params"]
            if e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
                errs.append(f"console.{p['type']}: {p.get('args')}")
            elif e["method"] == "Runtime.exceptionThrown":
                errs.append(f"exception: {p.get('exceptionDetails')}")
            elif e["method"] == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
                errs.append(f"log {p['entry'].get('level')}: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        return errs

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events("Network.requestWillBeSent")]

    def click(self, selector: str):
        """A real mouse click (press + release) in the middle of the element."""
        box = self.js(f"""(() => {{ const el = document.querySelector({json.dumps(selector)});
            el.scrollIntoView({{block: 'center'}}); const r = el.getBoundingClientRect();
            return [r.left + Math.min(r.width / 2, 40), r.top + r.height / 2]; }})()""")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left",
                                                   "clickCount": 1})

    def screenshot(self, path: Path, full: bool = True) -> Path:
        params = {"format": "png", "captureBeyondViewport": full}
        if full:
            w, h = self.js("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": w, "height": min(h, 16000), "scale": 1}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params)["data"]))
        return path

    def close(self):
        self.cdp.send("Target.closeTarget", {"targetId": self.target})


# --------------------------------------------------------------------------
# Reports to look at


def buggy_variant() -> Variant:
    return Variant("dw-divided", "mutant", "dense", "dense-grad-divided-by-batch", edits=[(
        "layers.py", "return np.dot(input.T, grad_output), grad_output.sum(axis=0)",
        "return np.dot(input.T, grad_output) / input.shape[0], grad_output.sum(axis=0)")])


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    eng = Engine(Config(), entry_points=False)
    reports = {
        "reference": eng.grade(REFERENCE_DIR),
        "template": eng.grade(TEMPLATE, only=["relu", "dense", "loss", "network", "minibatches"]),
        # the training check too, so the buggy page carries a heatmap and learning curves
        "buggy": eng.grade(buggy_variant().materialise(tmp), only=["relu", "dense", "training"]),
    }
    out = {}
    for name, rep in reports.items():
        path = tmp / f"{name}.html"
        path.write_text(render_html(rep), encoding="utf-8")
        out[name] = (rep, path)
    return out


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    b = Browser(chromium, tmp_path_factory.mktemp("chromium"))
    yield b
    b.stop()


def _visible(tab: Tab, selector: str) -> bool:
    return tab.js(f"""(() => {{ const el = document.querySelector({json.dumps(selector)});
        if (!el) return false; const r = el.getBoundingClientRect();
        return el.checkVisibility() && r.width > 0 && r.height > 0; }})()""")


@pytest.mark.parametrize("name", ["reference", "template", "buggy"])
def test_report_in_chromium(browser, pages, name):
    rep, path = pages[name]
    tab = browser.open(path.as_uri())
    try:
        text = tab.js("document.body.innerText")
        # the score, as shown at the top
        assert f"{rep.score:g} / {rep.max_score:g}" in " ".join(text.split())
        assert _visible(tab, "#total-score")
        # a failed check's hint is on screen, in its own check and in "fix first"
        failed = [c for c in rep.checks if c.status in (Status.FAILED, Status.ERROR, Status.TIMEOUT) and c.hint]
        if name == "reference":
            assert not failed and "Every check passed" in text
        else:
            assert failed
            c = failed[0]
            assert " ".join(c.hint.split()) in " ".join(text.split())
            assert _visible(tab, f'[id="check-{c.id}"] .hint')
            assert _visible(tab, "#fix-first .hint")
        # every picture decoded (inline PNGs)
        broken = tab.js("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length")
        assert broken == 0
        # a collapsed part opens on a real click, and its content becomes visible
        assert tab.js("document.querySelectorAll('details:not([open])').length") > 0
        tab.js("document.querySelector('details:not([open])').setAttribute('data-probe', '1')")
        assert not _visible(tab, "details[data-probe] > :not(summary)")
        tab.click("details[data-probe] > summary")
        assert tab.js("document.querySelector('details[data-probe]').open") is True
        assert _visible(tab, "details[data-probe] > :not(summary)")
        shot = tab.screenshot(ARTIFACTS / f"report-{name}.png")
        print(f"\nscreenshot of the {name} report: {shot}")
        # print media shows what was collapsed
        tab.js("document.querySelectorAll('details').forEach(d => d.open = false)")
        tab.send("Emulation.setEmulatedMedia", {"media": "print"})
        hidden_in_print = tab.js("""[...document.querySelectorAll('details > :not(summary)')]
            .filter(el => !el.checkVisibility()).length""")
        assert hidden_in_print == 0, "printing keeps collapsed parts hidden"
        tab.send("Emulation.setEmulatedMedia", {"media": ""})
        pdf = base64.b64decode(tab.send("Page.printToPDF", {"printBackground": True})["data"])
        assert pdf[:5] == b"%PDF-"
        # nothing went wrong, and nothing left the page
        assert tab.console_errors() == []
        assert [u for u in tab.requests() if not u.startswith(("file:", "data:", "about:"))] == []
    finally:
        tab.close()


@pytest.mark.parametrize("name", ["buggy"])
def test_report_on_a_phone(browser, pages, name):
    rep, path = pages[name]
    tab = browser.open(path.as_uri(), width=390, height=844, mobile=True)
    try:
        overflow = tab.js("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"the page is {overflow}px wider than a phone"
        wide = tab.js("""[...document.querySelectorAll('.check, .card, .top, img')]
            .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .map(el => el.className || el.tagName)""")
        assert wide == []
        assert _visible(tab, "#total-score")
        shot = tab.screenshot(ARTIFACTS / f"report-{name}-phone.png")
        print(f"\nphone screenshot of the {name} report: {shot}")
        assert tab.console_errors() == []
    finally:
        tab.close()


def test_pointed_line_in_chromium(browser, pages, tmp_path_factory):
    """The line a failed check pins is on screen, marked among the student's own lines, in a
    notebook's cell coordinates; the PNG is kept for a human to look at (issue 12)."""
    from nncheck.variants import as_notebook

    tmp = tmp_path_factory.mktemp("pointed")
    rep = Engine(Config(), entry_points=False).grade(as_notebook(buggy_variant()).materialise(tmp), only=["dense"])
    check = next(c for c in rep.checks if c.id == "dense.backward.params")
    (w,) = check.where
    assert w["pinned"] and w["snippet"] == "return np.dot(input.T, grad_output) / input.shape[0], grad_output.sum(axis=0)"
    path = tmp / "pointed.html"
    path.write_text(render_html(rep), encoding="utf-8")
    for width, name in ((1200, "desktop"), (390, "phone")):
        tab = browser.open(path.as_uri(), width=width, height=900, mobile=width < 500)
        try:
            sel = f'[id="check-{check.id}"] .where.pinned .src-line.hit'
            assert _visible(tab, sel)
            assert tab.js(f"document.querySelector({json.dumps(sel)}).innerText").split(None, 1) == [
                str(w["line"]), w["snippet"]]
            text = " ".join(tab.js("document.body.innerText").split())
            assert f"Where: {w['label']}, line {w['line']} in Dense._param_gradients" in text
            assert tab.js("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 1
            box = tab.js(f"""(() => {{ const el = document.querySelector('[id="check-{check.id}"]');
                el.scrollIntoView(); const r = el.getBoundingClientRect();
                return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; }})()""")
            shot = tmp / f"pointed-{name}.png"
            data = tab.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": {
                "x": box[0], "y": box[1], "width": box[2], "height": min(box[3], 4000), "scale": 1}})["data"]
            shot.write_bytes(base64.b64decode(data))
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(shot, ARTIFACTS / shot.name)
            print(f"\nscreenshot of the pointed line ({name}): {shot}")
            assert shot.stat().st_size > 5000
            assert tab.console_errors() == []
        finally:
            tab.close()


# --------------------------------------------------------------------------
# The notebook's inline output and the class summary, as a browser draws them


NOTEBOOK = REPO / "examples" / "submissions" / "original_notebook.ipynb"


def _notebook_page(fragment: str) -> str:
    """The inline fragment inside a page shaped like a notebook's output area (with the notebook's
    own headings and lists styled, to see that the fragment's CSS stays inside its box)."""
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>hw.ipynb</title>"
            "<style>body { font-family: serif; margin: 1rem 2rem; } h4 { color: rgb(0, 128, 0); }</style></head>"
            "<body><h4 id='outside'>In [12]: %nncheck</h4><div class='jp-OutputArea-output'>"
            f"{fragment}</div></body></html>")


def test_jupyter_output_in_chromium(browser, tmp_path):
    """The fragment %nncheck shows under a cell: fix-first on top, every check behind "All N checks"
    (the not-attempted families on one line), its CSS scoped to its box; screenshot kept."""
    from nncheck.classroom.jupyter import render_inline
    from nncheck.report.feedback import for_student
    from nncheck.report.text import report_dict

    rep = Engine(Config(), entry_points=False).grade(NOTEBOOK, only=["relu", "network", "l2.grad", "xavier",
                                                                     "dropout"])
    d = report_dict(for_student(rep, Config()))
    path = tmp_path / "notebook.html"
    path.write_text(_notebook_page(render_inline(d, "every check · hw.ipynb", 7.4)), encoding="utf-8")
    tab = browser.open(path.as_uri(), width=1000, height=900)
    try:
        assert _visible(tab, ".nncheck-nb .nn-fix")
        fix = " ".join(tab.js("document.querySelector('.nncheck-nb .nn-fix').innerText").split())
        assert "network.train" in fix and "backprop-skips-layer" in fix
        summary = tab.js("document.querySelector('.nn-all > summary').innerText")
        assert summary == f"All {len(d['checks'])} checks"
        assert not _visible(tab, ".nn-all .nn-na")
        tab.click(".nn-all > summary")
        assert _visible(tab, ".nn-all .nn-na")
        lines = tab.js("[...document.querySelectorAll('.nn-all .nn-na')].map(e => e.innerText)")
        assert any("xavier" in line for line in lines) and any("dropout" in line for line in lines)
        # l2.grad's mistakes, one item each, once its row is opened
        tab.js("document.querySelectorAll('.nn-all details.nn-check').forEach(d => d.open = true)")
        assert tab.js("document.querySelectorAll('.nn-all .nn-items li').length") >= 2
        # the notebook's own styles are untouched by the fragment's CSS
        assert tab.js("getComputedStyle(document.getElementById('outside')).color") == "rgb(0, 128, 0)"
        assert tab.js("getComputedStyle(document.body).fontFamily") == "serif"
        assert tab.console_errors() == []
        assert [u for u in tab.requests() if not u.startswith(("file:", "data:", "about:"))] == []
        box = tab.js("""(() => { const r = document.querySelector('.nncheck-nb').getBoundingClientRect();
            return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; })()""")
        data = tab.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": {
            "x": box[0], "y": box[1], "width": box[2], "height": min(box[3], 8000), "scale": 1}})["data"]
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "jupyter-output.png"
        shot.write_bytes(base64.b64decode(data))
        print(f"\nscreenshot of the Jupyter output: {shot}")
        assert shot.stat().st_size > 5000
    finally:
        tab.close()


def test_class_summary_in_chromium(browser, pages, tmp_path):
    """summary.html for a small class: the histogram is drawn, each diagnosis is named by its title,
    nothing is fetched, nothing fails; screenshot kept."""
    from nncheck.classroom.gradebook import OK
    from nncheck.classroom.summary import build_summary, render_summary_html
    from nncheck.report.diagnoses import title
    from nncheck.report.text import report_dict

    rows = []
    for student, name in (("alice", "reference"), ("bob", "template"), ("carol", "buggy"), ("dave", "buggy")):
        rep, _ = pages[name]
        rows.append({"student": student, "entry": f"{student}.ipynb", "status": OK, "report": report_dict(rep)})
    ids = list(dict.fromkeys(c["id"] for r in rows for c in r["report"]["checks"]))
    summary = build_summary(rows, ids, {"nncheck_version": "test", "seed": 0, "html_reports": False})
    path = tmp_path / "summary.html"
    path.write_text(render_summary_html(summary), encoding="utf-8")
    tab = browser.open(path.as_uri(), width=1200, height=900)
    try:
        text = " ".join(tab.js("document.body.innerText").split())
        assert "Class summary" in text
        assert tab.js("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length") == 0
        assert tab.js("document.images.length") >= 1
        assert summary["diagnoses"], "the buggy students share a diagnosis"
        for d in summary["diagnoses"]:
            assert title(d["code"]) and title(d["code"]) in text
        assert tab.console_errors() == []
        assert [u for u in tab.requests() if not u.startswith(("file:", "data:", "about:"))] == []
        overflow = tab.js("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1
        shot = tab.screenshot(ARTIFACTS / "class-summary.png")
        print(f"\nscreenshot of the class summary: {shot}")
        assert shot.stat().st_size > 10000
    finally:
        tab.close()

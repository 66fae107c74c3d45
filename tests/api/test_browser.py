"""The search page in real headless Chromium (Debian's chromium, driven by Playwright; no browser download)."""

from __future__ import annotations

import base64
import os
import shutil
import time

import pytest

from tests.api.conftest import REPO_ARTIFACTS, png_bytes
from logo_similarity.synthetic import render_composite
from tests.conftest import COLOURS, draw_logo

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]

if CHROMIUM is None and os.environ.get("CI"):
    pytest.fail("CI must install Debian's chromium for the browser test (.ci/run does)", pytrace=False)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


def test_search_page_end_to_end(browser, live_server, tmp_path):
    query = tmp_path / "query.png"
    query.write_bytes(png_bytes(draw_logo("star", COLOURS[3], side=180)))
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/")
    page.wait_for_function("document.getElementById('stats').textContent.includes('12 marks')")

    # choose a file + a name, search: a grid of results with score bars
    page.set_input_files("#file", str(query))
    page.fill("#text", "STARR")
    page.fill("#k", "6")
    page.click("#search")
    page.wait_for_selector(".result")
    cards = page.locator(".result")
    assert cards.count() == 6
    assert cards.nth(0).locator(".title").inner_text() == "#1 STAR"
    # the bar is drawn as wide as the score (rendered width, not just the style attribute)
    ratio = cards.nth(0).locator(".bar.image .fill").evaluate(
        "e => e.getBoundingClientRect().width / e.parentElement.getBoundingClientRect().width")
    score = float(cards.nth(0).locator(".bar.image span").nth(-1).inner_text())
    assert abs(ratio - score) < 0.02, (ratio, score)
    assert cards.nth(0).locator(".bar.text").count() == 1
    # why: the verified matches are drawn between the query and the mark, inside both images, and the
    # names compared are shown with where they came from
    first = cards.nth(0)
    assert first.locator(".bar.spatial").count() == 1
    lines = first.locator("svg.match line.match-line")
    assert lines.count() >= 3
    geometry = lines.evaluate_all("""ls => ls.map(l => [l.x1.baseVal.value, l.y1.baseVal.value,
                                                         l.x2.baseVal.value, l.y2.baseVal.value])""")
    assert all(0 <= x1 <= 100 and 112 <= x2 <= 212 and 0 <= y1 <= 100 and 0 <= y2 <= 100
               for x1, y1, x2, y2 in geometry)
    box = first.locator("svg.match").bounding_box()
    assert box["width"] > 100 and box["height"] > 40  # rendered, not collapsed
    assert first.locator(".why-text").inner_text() == "“STARR” (given) ~ “STAR” (mark name)"
    assert page.evaluate("[...document.images].filter(i => i.closest('.result')).every(i => i.complete && i.naturalWidth > 0)")
    REPO_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(REPO_ARTIFACTS / "search_page.png"), full_page=True)

    # click a result: search by that item, which comes first
    target = cards.nth(2).get_attribute("data-id")
    cards.nth(2).click()
    page.wait_for_function(f"document.querySelector('.result')?.dataset.id === '{target}'")
    assert "results for" in page.inner_text("#status")

    # drag and drop a file onto the drop zone
    data = base64.b64encode(png_bytes(draw_logo("ring", COLOURS[1], side=160))).decode()
    page.fill("#text", "")
    page.evaluate(
        """async (b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], 'ring.png', {type: 'image/png'}));
            document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true}));
        }""", data)
    page.click("#search")
    page.wait_for_function("document.querySelector('.result .title')?.textContent === '#1 RING'")

    # the Nice filter reaches the service: no mark of this gallery has class 9
    page.fill("#nice", "9")
    page.click("#search")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('0 results')")
    page.fill("#nice", "")

    # the mark's own classes go with the upload (scored, not a filter): a class that is none is the service's 422
    page.fill("#classes", "46")
    page.click("#search")
    page.wait_for_function("document.querySelector('#status').classList.contains('error')")
    assert "46" in page.inner_text("#status")
    page.fill("#classes", "9")
    page.click("#search")
    page.wait_for_function("document.querySelector('.result .title')?.textContent === '#1 RING'")
    page.fill("#classes", "")
    page.click("#clear")  # no results left on the page for the next step's wait to find

    # a composite mark (the star under big lettering): each result says which element matched, with the
    # query's figure cut out of it and drawn
    composite = tmp_path / "composite.png"
    composite.write_bytes(png_bytes(render_composite(draw_logo("star", COLOURS[3]), "Vastrelon", "word")))
    page.set_input_files("#file", str(composite))
    page.click("#search")
    page.wait_for_selector(".result .why-elements")
    why = page.locator(".result").nth(0).locator(".why-elements")
    assert "query: composite" in why.locator(".why-el").inner_text()
    assert why.locator("canvas.figure-crop").count() >= 1
    page.wait_for_function("""() => {
        const c = document.querySelector('.result .why-elements canvas.figure-crop');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200) return true;
        return false;
    }""")

    # a bad upload shows the service's reason, not a blank page
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    page.set_input_files("#file", str(bad))
    page.click("#search")
    page.wait_for_selector("#status.error")
    assert "415" in page.inner_text("#status") and "not an image" in page.inner_text("#status")
    assert errors == []
    page.close()


def test_jobs_panel_shows_progress_and_cancels(browser, api_settings, built_index, tmp_path):
    import httpx

    from logo_similarity.api.app import create_app
    from logo_similarity.api.service import SearchService
    from logo_similarity.retrieval.store.lock import index_writer
    from tests.api.conftest import KEY, RunningServer, copy_index

    root = copy_index(built_index, tmp_path)
    service = SearchService(api_settings, root)
    service.load()
    with RunningServer(create_app(api_settings, service=service)) as server:
        http = httpx.Client(base_url=server.url, headers={"X-API-Key": KEY}, timeout=30)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server.url + "/")
        page.click("#jobs-panel summary")
        assert page.locator("#jobs-empty").is_visible()

        done = http.post("/index/rebuild").json()["id"]
        row = page.locator(f"tr.job[data-id='{done}']")
        row.locator(".state:text-is('completed')").wait_for(timeout=60_000)
        assert row.locator("progress").evaluate("p => p.value") == 1
        assert "12 items" in row.locator(".outcome").inner_text()

        with index_writer(root, "test: another writer"):  # the next rebuild waits for the index: it stays running
            held = http.post("/index/rebuild").json()["id"]
            row = page.locator(f"tr.job[data-id='{held}']")
            row.locator(".state:text-is('running')").wait_for(timeout=30_000)
            row.locator("button.cancel").click()
            page.locator("#jobs-status:has-text('cancel refused')").wait_for(timeout=10_000)  # no key typed yet
            page.fill("#api-key", KEY)
            row.locator("button.cancel").click()
            row.locator(".state:text-is('cancelled')").wait_for(timeout=30_000)
        assert row.locator("button.cancel").count() == 0
        page.screenshot(path=str(tmp_path / "jobs.png"), full_page=True)
        assert not errors, errors


def test_watches_panel_lists_alerts_and_triages(browser, api_settings, built_index, tmp_path):
    """A client's watch list with a run (made through the API), then the page: its key loads its lists, the list
    opens to its alerts best first with tier and deadline, and a triage button changes the state on the server."""
    import httpx

    from logo_similarity.api.app import create_app
    from logo_similarity.api.keys import KeyStore
    from logo_similarity.datasets.transforms import modified_copy
    from logo_similarity.api.service import SearchService
    from tests.api.conftest import RunningServer, copy_index

    service = SearchService(api_settings, copy_index(built_index, tmp_path / "index"))  # its jobs.sqlite, not the shared
    service.load()
    api = api_settings.api.model_copy(update={"keys_file": str(tmp_path / "keys.sqlite")})
    settings = api_settings.model_copy(update={"api": api, "watch": api_settings.watch.model_copy(
        update={"root": str(tmp_path / "watches")})})
    key = KeyStore(tmp_path / "keys.sqlite").create("acme", "watch")
    with RunningServer(create_app(settings, service=service)) as server:
        http = httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=120)
        marks = [("images", (f"m{i}.png", png_bytes(draw_logo(kind, COLOURS[i])), "image/png"))
                 for i, kind in enumerate(("star", "ring"))]
        watch = http.post("/watches", data={"name": "acme marks"}, files=marks).json()
        filing = png_bytes(modified_copy(draw_logo("star", COLOURS[0]), seed=2)[0])
        meta = '{"file": "f.png", "id": "2026/77", "published": "2026-10-15"}'
        job = http.post(f"/watches/{watch['id']}/runs", files=[("images", ("f.png", filing, "image/png")),
                                                               ("metadata", ("m.jsonl", meta))]).json()
        for _ in range(600):
            if http.get(f"/jobs/{job['id']}").json()["state"] == "completed":
                break
            time.sleep(0.2)
        top = http.get(f"/watches/{watch['id']}/alerts").json()[0]

        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server.url + "/")
        page.click("#watches-panel summary")
        page.click("#watch-load")
        page.locator("#watch-status:has-text('could not load')").wait_for(timeout=10_000)  # no key: refused
        page.fill("#watch-key", key)
        page.click("#watch-load")
        page.locator("tr.watch button.open:text-is('acme marks')").click()
        row = page.locator(f"tr.alert[data-id='{top['id']}']")
        row.wait_for(timeout=10_000)
        assert page.locator("tr.alert").first.get_attribute("data-id") == str(top["id"])  # best first
        assert row.locator(".tier").inner_text() == top["tier"]
        assert row.locator(".deadline").inner_text() == "2027-01-15"
        assert row.locator(".filing").inner_text() == "2026/77"
        row.locator("button.dismissed").click()
        page.locator(f"tr.alert[data-id='{top['id']}'] .state:text-is('dismissed')").wait_for(timeout=10_000)
        assert http.get(f"/watches/{watch['id']}/alerts", params={"state": "dismissed"}).json()[0]["id"] == top["id"]
        page.screenshot(path=str(tmp_path / "watches.png"), full_page=True)
        assert not errors, errors

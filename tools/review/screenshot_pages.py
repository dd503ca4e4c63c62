"""Screenshot every page of the built HTML book, full length, in segments.

Headless Chromium cannot capture a page taller than about 16 000 px in one
screenshot, so each page is measured first and then captured in segments of at
most ``--segment-height`` pixels (8 000 by default) at a fixed window width
(1 280 px by default).

Usage
-----
Build the book, then, from the repository root::

    .venv/bin/jupyter-book build .
    python tools/review/screenshot_pages.py _build/html /tmp/screens

    # only some pages, narrower window, smaller segments
    python tools/review/screenshot_pages.py _build/html /tmp/screens \\
        --pages book/05_training.html book/intro.html --width 1024 --segment-height 4000

It writes ``<out>/<page>/seg01.png``, ``seg02.png``, ... (``<page>`` is the
file's name without ``.html``, or its path with ``/`` replaced by ``__`` when
two pages share a name) and ``<out>/manifest.json``: for each page its full
height, its width as laid out (wider than the window means the page scrolls
sideways), its segments, the images that failed to load and the blocks in the
page's ``<main>`` (code, outputs, tables) whose content is wider than the block,
so that part of it is hidden behind a sideways scroll bar the screenshots do not
show (``top`` in page pixels, ``hidden_px``, ``part``: a cell's ``code``, its
``output`` or the ``text``, and the first 80 characters).

How it works
------------
For each page, a temporary copy is written beside it (so that its relative
links to ``_static/`` and ``_images/`` still resolve), named
``__seg_measure_<page>.html`` or ``__seg_<n>_<page>.html``:

1. the measuring copy carries a small script; ``chromium --dump-dom`` loads
   it and the script writes the document's height, width and broken images
   into the dumped DOM;
2. each segment's copy carries ``<style>html{transform:translateY(-Npx)}``,
   which shifts the page up by the segment's offset without scrolling, so the
   sticky header and sidebar appear only in the first segment and no content is
   covered; ``chromium --screenshot`` with a window as tall as the segment
   captures it.

The temporary copies and Chromium's profile folder are removed afterwards,
also on error. Only one Chromium runs at a time. Pages are every ``*.html``
under the folder except Sphinx's ``genindex``, ``search`` and
``py-modindex``, the ``_static``/``_sources``/``_images`` folders and pages
that only redirect (``<meta http-equiv="refresh">``, like the book's
``index.html``).

External requests (MathJax and the widget manager come from a CDN) are
refused at once unless ``--allow-network`` is given, so an offline machine
does not wait for them; formulas then show as TeX source and widgets as
their text fallback.

Parameters
----------
html_dir : path
    The built book, e.g. ``_build/html``.
out_dir : path
    Where the screenshots go (created if missing; existing page folders are
    replaced).
--width : int
    Window width in CSS pixels (default 1280).
--segment-height : int
    Largest segment height in pixels (default 8000).
--pages : paths
    Only these pages, relative to ``html_dir``.
--chromium : path
    The Chromium binary (default ``/usr/bin/chromium``, else ``chromium`` on
    the PATH).
--wait-ms : int
    Virtual time Chromium gives each page to load and run its scripts
    (default 5000).
--allow-network : flag
    Let pages fetch from the network.

Only the standard library is used.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

SKIP_NAMES = {"genindex.html", "search.html", "py-modindex.html"}
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads"}
TMP_PREFIX = "__seg_"

MEASURE_SCRIPT = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var d = document.documentElement, b = document.body;
    var broken = [];
    document.querySelectorAll("img").forEach(function (im) {
      if (!im.complete || im.naturalWidth === 0) { broken.push(im.getAttribute("src")); }
    });
    var sideways = [];
    document.querySelectorAll("main *").forEach(function (el) {
      var ox = getComputedStyle(el).overflowX;
      if ((ox === "auto" || ox === "scroll") && el.scrollWidth > el.clientWidth + 1) {
        sideways.push({
          tag: el.tagName.toLowerCase() + (el.className ? "." + String(el.className).split(" ")[0] : ""),
          top: Math.round(el.getBoundingClientRect().top + window.scrollY),
          hidden_px: el.scrollWidth - el.clientWidth,
          part: el.closest(".cell_output") ? "output" : el.closest(".cell_input") ? "code" : "text",
          text: (el.textContent || "").trim().slice(0, 80)
        });
      }
    });
    var info = {
      height: Math.max(d.scrollHeight, b.scrollHeight, d.offsetHeight, b.offsetHeight),
      width: Math.max(d.scrollWidth, b.scrollWidth),
      broken_images: broken,
      scrolls_sideways: sideways
    };
    var out = document.createElement("pre");
    out.id = "__seg_measure";
    out.textContent = JSON.stringify(info);
    b.appendChild(out);
  }, 1000);
});
</script>
"""


def find_pages(html_dir: Path) -> list[Path]:
    """Return the book's pages under ``html_dir``, sorted, as relative paths."""
    pages = []
    for path in sorted(html_dir.rglob("*.html")):
        rel = path.relative_to(html_dir)
        if rel.name in SKIP_NAMES or rel.name.startswith(TMP_PREFIX):
            continue
        if any(part in SKIP_DIRS for part in rel.parts[:-1]):
            continue
        head = path.read_text(encoding="utf-8", errors="replace")[:4000].lower()
        if re.search(r"<meta[^>]+http-equiv=[\"']?refresh", head):
            continue
        pages.append(rel)
    return pages


def page_names(pages: list[Path]) -> dict[Path, str]:
    """Name each page by its stem, or by its path where stems collide."""
    stems: dict[str, int] = {}
    for rel in pages:
        stems[rel.stem] = stems.get(rel.stem, 0) + 1
    return {
        rel: rel.stem if stems[rel.stem] == 1 else "__".join(rel.with_suffix("").parts)
        for rel in pages
    }


def inject(source: str, snippet: str, before: str) -> str:
    """Insert ``snippet`` before the last ``before`` tag (or append it)."""
    index = source.lower().rfind(before)
    if index < 0:
        return source + snippet
    return source[:index] + snippet + source[index:]


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG file, read from its header."""
    with path.open("rb") as handle:
        header = handle.read(24)
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    return struct.unpack(">II", header[16:24])


class Chromium:
    """Runs headless Chromium, one process at a time, with a throwaway profile."""

    def __init__(self, binary: str, width: int, wait_ms: int, allow_network: bool):
        self.binary = binary
        self.width = width
        self.wait_ms = wait_ms
        self.allow_network = allow_network
        self.profile = tempfile.mkdtemp(prefix="screenshot_pages_profile_")

    def _run(self, height: int, extra: list[str], url: str, slower: int = 1) -> str:
        cmd = [
            self.binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={self.profile}",
            f"--window-size={self.width},{height}",
            f"--virtual-time-budget={self.wait_ms * slower}",
        ]
        if not self.allow_network:
            cmd.append("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost")
        cmd += extra + [url]
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=300, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"chromium failed ({done.returncode}) on {url}:\n{done.stderr[-2000:]}"
            )
        return done.stdout

    def measure(self, page: Path) -> dict:
        """What the measuring script found in ``page`` (a temporary copy)."""
        # on a busy machine Chromium sometimes dumps the page before the script has
        # run: try again with more time
        for attempt in range(4):
            dom = self._run(800, ["--dump-dom"], page.resolve().as_uri(), 2**attempt)
            found = re.search(r'<pre id="__seg_measure">(.*?)</pre>', dom, re.S)
            if found:
                return json.loads(html.unescape(found.group(1)))
        raise RuntimeError(f"could not measure {page}: the script did not run")

    def screenshot(self, page: Path, height: int, png: Path) -> None:
        """Capture ``page`` in a window ``height`` pixels tall into ``png``."""
        self._run(height, [f"--screenshot={png.resolve()}"], page.resolve().as_uri())
        if not png.exists():
            raise RuntimeError(f"chromium wrote no screenshot of {page}")

    def close(self) -> None:
        shutil.rmtree(self.profile, ignore_errors=True)


def capture_page(
    chromium: Chromium, html_dir: Path, rel: Path, name: str, out_dir: Path, segment: int
) -> dict:
    """Measure one page and write its segments to ``out_dir / name``."""
    source_path = html_dir / rel
    source = source_path.read_text(encoding="utf-8")
    temporary: list[Path] = []
    try:
        measure_copy = source_path.with_name(f"{TMP_PREFIX}measure_{source_path.name}")
        temporary.append(measure_copy)
        measure_copy.write_text(inject(source, MEASURE_SCRIPT, "</body>"), encoding="utf-8")
        info = chromium.measure(measure_copy)
        # the script measures before it adds its <pre>, so the height is the page's own
        height = int(info["height"])

        page_out = out_dir / name
        if page_out.exists():
            shutil.rmtree(page_out)
        page_out.mkdir(parents=True)
        count = max(1, math.ceil(height / segment))
        segments = []
        for index in range(count):
            top = index * segment
            tall = min(segment, height - top)
            copy = source_path.with_name(f"{TMP_PREFIX}{index + 1}_{source_path.name}")
            temporary.append(copy)
            style = f"<style>html{{transform:translateY(-{top}px);}}</style>" if top else ""
            copy.write_text(inject(source, style, "</head>"), encoding="utf-8")
            png = page_out / f"seg{index + 1:02d}.png"
            chromium.screenshot(copy, tall, png)
            copy.unlink()
            width, got = png_size(png)
            if (width, got) != (chromium.width, tall):
                print(f"warning: {png} is {width} x {got} px, not {chromium.width} x {tall}")
            segments.append({"file": png.name, "top": top, "height": got, "width": width})
        return {
            "page": rel.as_posix(),
            "height": height,
            "layout_width": int(info["width"]),
            "broken_images": info["broken_images"],
            "scrolls_sideways": info["scrolls_sideways"],
            "segments": segments,
        }
    finally:
        for path in temporary:
            path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Screenshot every page of a built HTML book, full length, in segments."
    )
    parser.add_argument("html_dir", type=Path, help="the built book, e.g. _build/html")
    parser.add_argument("out_dir", type=Path, help="where the PNG files go")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--segment-height", type=int, default=8000)
    parser.add_argument("--pages", nargs="*", type=Path, default=None)
    parser.add_argument("--chromium", default=None)
    parser.add_argument("--wait-ms", type=int, default=5000)
    parser.add_argument("--allow-network", action="store_true")
    args = parser.parse_args(argv)

    html_dir = args.html_dir
    if not html_dir.is_dir():
        parser.error(f"{html_dir} is not a folder")
    if not 100 <= args.segment_height <= 15000:
        parser.error("--segment-height must be between 100 and 15000")
    binary = args.chromium or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
    )
    if not binary:
        parser.error("no chromium found; give --chromium")

    pages = args.pages if args.pages else find_pages(html_dir)
    for rel in pages:
        if not (html_dir / rel).is_file():
            parser.error(f"{html_dir / rel} does not exist")
    names = page_names(pages)
    args.out_dir.mkdir(parents=True, exist_ok=True)

    chromium = Chromium(binary, args.width, args.wait_ms, args.allow_network)
    manifest = []
    try:
        for rel in pages:
            entry = capture_page(
                chromium, html_dir, rel, names[rel], args.out_dir, args.segment_height
            )
            entry["name"] = names[rel]
            manifest.append(entry)
            note = ""
            if entry["layout_width"] > args.width:
                note += f", laid out {entry['layout_width']} px wide"
            if entry["broken_images"]:
                note += f", {len(entry['broken_images'])} broken image(s)"
            if entry["scrolls_sideways"]:
                note += f", {len(entry['scrolls_sideways'])} block(s) scroll sideways"
            print(
                f"{rel.as_posix()}: {entry['height']} px, "
                f"{len(entry['segments'])} segment(s){note}",
                flush=True,
            )
    finally:
        chromium.close()
    (args.out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(manifest)} page(s) in {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

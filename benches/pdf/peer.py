"""PDF text extraction by the Python peers, one process, one thread: pypdf, pdfminer.six, PyMuPDF.

  python peer.py probe FILE...                 # print the files every peer and pdftotext read
  python peer.py run OUT_DIR ROUNDS FILE...    # time each peer (best of ROUNDS), texts to OUT_DIR/ENGINE/

Each engine extracts the text of every page the way its documentation shows.
"""

import json
import subprocess
import sys
import time
from pathlib import Path


def pypdf_text(path):
    from pypdf import PdfReader
    r = PdfReader(path)
    return "\n".join(p.extract_text() or "" for p in r.pages), len(r.pages)


def pdfminer_text(path):
    from pdfminer.high_level import extract_text
    from pdfminer.pdfpage import PDFPage
    with open(path, "rb") as f:
        pages = sum(1 for _ in PDFPage.get_pages(f))
    return extract_text(path), pages


def pymupdf_text(path):
    import pymupdf
    with pymupdf.open(path) as d:
        return "\n".join(p.get_text() for p in d), d.page_count


ENGINES = {"pypdf": pypdf_text, "pdfminer.six": pdfminer_text, "pymupdf": pymupdf_text}


def reads(fn, path):
    try:
        text, _ = fn(path)
        return bool(text.strip())
    except Exception:
        return False


def pdftotext(path, out=None):
    r = subprocess.run(["pdftotext", "-q", "-enc", "UTF-8", path, out or "-"], capture_output=True)
    return r.returncode == 0 and (out is not None or bool(r.stdout.strip()))


def main():
    if sys.argv[1] == "probe":
        ok = [p for p in sys.argv[2:] if pdftotext(p) and all(reads(fn, p) for fn in ENGINES.values())]
        print("\n".join(ok))
        return
    out, rounds, files = Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    ref = out / "pdftotext"
    ref.mkdir(parents=True, exist_ok=True)
    for p in files:
        pdftotext(p, str(ref / (Path(p).stem + ".txt")))
    for name, fn in ENGINES.items():
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        best, pages = float("inf"), 0
        for _ in range(rounds if name != "pdfminer.six" else 1):
            started = time.perf_counter()
            texts = [(p, *fn(p)) for p in files]
            best = min(best, time.perf_counter() - started)
        for p, text, n in texts:
            (d / (Path(p).stem + ".txt")).write_text(text, encoding="utf-8")
            pages += n
        print(json.dumps({"engine": name, "threads": 1, "files": len(files), "pages": pages,
                          "seconds": round(best, 3)}), flush=True)


if __name__ == "__main__":
    main()

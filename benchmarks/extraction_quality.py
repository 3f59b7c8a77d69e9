"""How well extract_article gets the article text out of the real pages of the shared corpus.

Run: .venv/bin/python benchmarks/extraction_quality.py   (from the repository root; add
--pages to list every page's score)

Every page in ../shared/corpus/articles is given to briefing.ingest.extract.extract_article as
bytes, with the URL from its ground truth (or from MANIFEST.md), and the returned text is
compared with the page's ground truth. Per ground-truth source it prints:

- pages, and how many of them extract_article returned None for (counted as empty text);
- for sources with a full article body (fundus body_plaintext, Zyte articleBody, newspaper
  expected_text, and the text of Readability.js's expected HTML): mean word-level precision,
  recall and F1 over pages. Words are lower-cased \\w+ tokens taken as a bag (multiset);
  precision = overlap / extracted words, recall = overlap / ground-truth words. This is looser
  than the Zyte benchmark's 4-gram shingles, so its figures are not comparable with the ones
  published there;
- for trafilatura's evaluation pages (snippets, no full body): the share of "with" snippets
  found in the text, the share of "without" snippets absent, and both together;
- the extraction time (wall clock, extract_article only).

Fundus, newspaper and Readability ground truths are the outputs of other extractors, not
independent annotations; Zyte's are human-annotated. The scoring helpers live in
tests/ingest/test_corpus.py (one implementation, shared with the tests' floors).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from briefing.ingest.extract import extract_article
from tests.ingest.test_corpus import (
    CORPUS,
    FULL_BODY_SOURCES,
    SOURCES,
    article_files,
    load_page,
    manifest_rows,
    snippet_counts,
    word_f1,
)


def main(show_pages: bool = False) -> int:
    files = article_files()
    if not files:
        print(f"no corpus pages under {CORPUS / 'articles'}", file=sys.stderr)
        return 1
    manifest = manifest_rows()
    rows: dict[str, list[tuple[str, tuple[float, ...], bool]]] = {s: [] for s in SOURCES}
    seconds = 0.0
    for path in files:
        page = load_page(path, manifest)
        html = page.html
        started = time.perf_counter()
        article = extract_article(html, page.url)
        seconds += time.perf_counter() - started
        text = article.text if article else ""
        if page.truth is not None:
            scores: tuple[float, ...] = tuple(word_f1(text, page.truth))
        else:
            found, absent = snippet_counts(text, page)
            scores = (found, len(page.with_snippets), absent, len(page.without_snippets))
        rows[page.source].append((path.name, scores, article is None))

    print(f"extract_article on {len(files)} corpus pages, {seconds:.1f} s extraction time\n")
    print(f"{'source':<17} {'pages':>5} {'None':>4}  {'precision':>9} {'recall':>6} {'F1':>5}")
    for source in FULL_BODY_SOURCES:
        results = rows[source]
        if not results:
            continue
        p, r, f = (statistics.fmean(s[i] for _, s, _ in results) for i in range(3))
        nones = sum(none for _, _, none in results)
        print(f"{source:<17} {len(results):>5} {nones:>4}  {p:>9.3f} {r:>6.3f} {f:>5.3f}")
    results = rows["trafilatura-eval"]
    if results:
        found, wanted, absent, unwanted = (sum(int(s[i]) for _, s, _ in results) for i in range(4))
        nones = sum(none for _, _, none in results)
        print(
            f"{'trafilatura-eval':<17} {len(results):>5} {nones:>4}  snippets: "
            f"with found {found}/{wanted} ({found / wanted:.0%}), "
            f"without absent {absent}/{unwanted} ({absent / unwanted:.0%}), "
            f"all {(found + absent) / (wanted + unwanted):.0%}"
        )

    if show_pages:
        print()
        for source in SOURCES:
            for name, scores, none in rows[source]:
                if source in FULL_BODY_SOURCES:
                    shown = "P={:.2f} R={:.2f} F1={:.2f}".format(*scores)
                else:
                    shown = "with {:.0f}/{:.0f} without {:.0f}/{:.0f}".format(*scores)
                print(f"{source:<17} {shown:<28} {'None ' if none else ''}{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(show_pages="--pages" in sys.argv[1:]))

"""Classification speed of the shipped model on one core, and how long it takes to load.

Measures: time to load the promoted model from classifiers/models (best of 5 loads in this
process, plus the first, cold one), and items per second for title-and-summary classification
of the seed data (all of classifiers/training, repeated to 20,000 items), with the process
pinned to one CPU and the numeric libraries limited to one thread.

Run: .venv/bin/python benchmarks/classify_speed.py
"""

from __future__ import annotations

import os

# One core, one thread: set before numpy and scipy are imported.
for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[name] = "1"

import time  # noqa: E402
from pathlib import Path  # noqa: E402

from briefing.classify.data import load_seed  # noqa: E402
from briefing.classify.model import ItemText  # noqa: E402
from briefing.classify.train import current_version, load_current  # noqa: E402
from briefing.config.taxonomy import default_taxonomy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "classifiers" / "models"
ITEMS = 20_000


def main() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    loads = []
    for _ in range(6):
        started = time.perf_counter()
        model = load_current(MODELS)
        loads.append(time.perf_counter() - started)
    if model is None:
        raise SystemExit("no promoted model: run `briefing train` first")
    seed = load_seed(ROOT / "classifiers" / "training", default_taxonomy())
    items = [ItemText(e.title, e.summary) for e in seed]
    items = (items * (ITEMS // len(items) + 1))[:ITEMS]
    model.predict(items[:100])  # warm up
    started = time.perf_counter()
    model.predict(items)
    seconds = time.perf_counter() - started
    print(f"model {current_version(MODELS)}, CPU {sorted(os.sched_getaffinity(0))}, 1 thread")
    print(f"load: first {loads[0]:.2f} s, best of the next 5 {min(loads[1:]):.2f} s")
    print(
        f"classify {ITEMS} title-and-summary items: {seconds:.2f} s, "
        f"{ITEMS / seconds:,.0f} items per second"
    )


if __name__ == "__main__":
    main()

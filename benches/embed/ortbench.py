"""Timing helpers shared by the Python ONNX Runtime benches (benches/embed/kernels.py,
benches/server/ceiling.py): best-of-N wall time, and calls shared between sessions run side by side."""

import threading
import time
from typing import Callable


def best_seconds(run: Callable[[], object], rounds: int) -> float:
    """The fastest of `rounds` runs, after one warm-up run."""
    run()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def side_by_side(sessions: list, calls: list[dict]) -> Callable[[], None]:
    """A run of `calls` dealt round-robin to `sessions`, each session on a thread of its own."""

    def run() -> None:
        def work(sess, part: list[dict]) -> None:
            for c in part:
                sess.run(None, c)

        workers = [threading.Thread(target=work, args=(s, calls[i :: len(sessions)]))
                   for i, s in enumerate(sessions)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    return run

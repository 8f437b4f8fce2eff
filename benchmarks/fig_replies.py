"""Figure 9: how runs end when the model writes what real models write.

Every entry of the emulator's imperfect-model catalogue is replayed through the
scenarios of ``tests/helpers/replies.py``: ``bind_tools`` (forced and
automatic choice), ``create_agent`` (plain, and with the tool and provider
strategies of ``response_format``) and the three ``with_structured_output``
methods, on the sync path, once with a model that corrects itself when told
(the default) and once with one that never does (``persist=True``, where that
ends in an error rather than in an agent's own loop). Each run ends in the
right result, a typed error, a silent empty answer or something else; the
figure counts them and the most model requests any step took. Each run has its
own in-process emulator on 127.0.0.1; no separate server is needed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from benchmarks.common import Figure, say, table
from benchmarks.sizes import Sizes
from benchmarks.targets import REPLIES_PER_STEP, target
from tests.helpers.replies import cases, run_case

__all__ = ["FIGURE", "measure", "report", "row"]

ENDS = ("right", "typed error", "empty", "wrong")


def measure(_urls: dict[str, str], sizes: Sizes) -> dict[str, Any]:
    """Run the cases (``sizes.replies_cases`` of them; all when ``None``).

    Returns:
        Per scenario: how many runs ended each way, and the most requests per
        step; and the same over all runs.
    """
    chosen = cases()[: sizes.replies_cases]
    per: dict[str, dict[str, Any]] = {}
    for label, name, persist in chosen:
        result = run_case(label, name, persist)
        entry = per.setdefault(label, {"ends": Counter(), "per_step": 0.0})
        entry["ends"][result.end] += 1
        entry["per_step"] = max(entry["per_step"], result.per_step)
    return {
        label: {"ends": dict(e["ends"]), "per_step": e["per_step"]}
        for label, e in per.items()
    }


def report(res: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Print figure 9 and return its summary (shares over all runs).

    Args:
        res: The output of :func:`measure`.
        sizes: The run's sizes.

    Returns:
        The shares of each end, the runs, and the most requests per step.
    """
    del sizes
    say(
        "[9] imperfect-model replies: catalogue x scenarios, how each run ends "
        "(sync path)"
    )
    total: Counter[str] = Counter()
    rows = []
    for label, entry in res.items():
        ends = Counter(entry["ends"])
        total.update(ends)
        rows.append(
            (label, *(str(ends.get(e, 0)) for e in ENDS), f"{entry['per_step']:g}")
        )
    table(("scenario", *ENDS, "most requests/step"), rows)
    runs = sum(total.values())
    worst = max(e["per_step"] for e in res.values())
    shares = {e: total.get(e, 0) / runs for e in ENDS}
    say(
        f"  {runs} runs: right {shares['right']:.0%}, typed error "
        f"{shares['typed error']:.0%} (every one from a model that never "
        f"complies), silent empty {total.get('empty', 0)}, other "
        f"{total.get('wrong', 0)}; most requests per step {worst:g} "
        f"(target <= {REPLIES_PER_STEP}: parse_retries + 1)"
    )
    return {
        "value": shares["right"],
        "unit": "share right",
        "runs": runs,
        "typed_error": shares["typed error"],
        "empty": total.get("empty", 0),
        "wrong": total.get("wrong", 0),
        "per_step": worst,
    }


def row(s: dict[str, Any]) -> tuple[str, str, str]:
    """Return figure 9's ChatLiaobots, peers and ratio cells of the summary."""
    return (
        f"{s['value']:.0%} right, {s['typed_error']:.0%} typed error",
        f"{s['empty']} empty, {s['wrong']} other ({s['runs']} runs)",
        f"{s['per_step']:g} requests/step",
    )


FIGURE = Figure(
    target=target("9"), key="replies", measure=measure, report=report, row=row
)

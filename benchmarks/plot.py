"""The benchmark's figure: results in, a two-panel PNG out (matplotlib, optional).

Left: client CPU per streamed piece (figure 1) for ChatLiaobots, its floors and
ChatOpenAI. Right: wall time of N concurrent ``astream`` calls against N
(the concurrency curve behind figure 3) for every async peer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot"]

_COLOURS = {
    "(diag.)": "#c7c7c7",
    "raw loop inside": "#17becf",
    "ChatLiaobots": "#1f77b4",
    "ChatOpenAI": "#d62728",
    "default": "#ff7f0e",
    "raw": "#7f7f7f",
    "langchain-core": "#9467bd",
}


def _colour(name: str) -> str:
    for key, colour in _COLOURS.items():
        if name.startswith(key):
            return colour
    return "#2ca02c"


def plot(results: dict[str, Any], path: Path) -> Path | None:
    """Draw the per-piece cost and the concurrency curve into a PNG.

    Args:
        results: The benchmark's results (as in ``results.json``).
        path: Where to write the PNG.

    Returns:
        The path written, or ``None`` when matplotlib is not installed.
    """
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None

    machine = results["machine"]
    sizes = results["sizes"]
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1, 1.15]}
    )

    cpu = results["measurements"]["cpu"]
    names = list(cpu)
    values = [cpu[n]["us_per_piece"]["median"] for n in names]
    lows = [
        v - cpu[n]["us_per_piece"]["min"] for n, v in zip(names, values, strict=True)
    ]
    highs = [
        cpu[n]["us_per_piece"]["max"] - v for n, v in zip(names, values, strict=True)
    ]
    ys = range(len(names))
    left.barh(
        ys,
        values,
        xerr=[lows, highs],
        color=[_colour(n) for n in names],
        capsize=3,
    )
    for y, v, high in zip(ys, values, highs, strict=True):
        left.text((v + high) * 1.12, y, f"{v:.1f} µs", va="center", fontsize=10)
    left.set_yticks(list(ys), names, fontsize=10)
    left.invert_yaxis()
    left.set_xscale("log")
    left.set_xlim(1, max(v + h for v, h in zip(values, highs, strict=True)) * 8)
    left.set_xlabel("client CPU per piece, µs (log scale; median, min-max bars)")
    left.set_title(
        f"Per-piece cost: {sizes['cpu_pieces']} pieces x 16 B, "
        f"{sizes['cpu_pace'] * 1e3:g} ms apart",
        fontsize=11,
    )
    left.grid(axis="x", which="both", alpha=0.3)

    conc = results["measurements"]["concurrency"]
    for name, per in conc["peers"].items():
        levels = sorted(int(n) for n in per)
        medians = [per[str(n)]["median"] for n in levels]
        right.plot(
            levels,
            medians,
            marker="o",
            label=name,
            color=_colour(name),
            linewidth=2.2 if name.startswith("ChatLiaobots") else 1.5,
        )
    ideal = sizes["ttfb"] + (sizes["conc_pieces"] - 1) * sizes["conc_pace"]
    right.axhline(ideal, color="black", linestyle=":", linewidth=1)
    right.text(
        max(conc["levels"]),
        ideal * 0.9,
        f"server-side minimum {ideal:.2f} s",
        fontsize=9,
        ha="right",
        va="top",
    )
    right.set_xscale("log", base=2)
    right.set_yscale("log")
    top = max(s["median"] for per in conc["peers"].values() for s in per.values())
    ticks = [t for t in (0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 50) if t <= top * 1.5]
    right.set_yticks(ticks, [f"{t:g}" for t in ticks])
    right.yaxis.set_minor_formatter(mpl.ticker.NullFormatter())
    right.set_ylim(ideal * 0.8, top * 1.3)
    right.set_xticks(conc["levels"], [str(n) for n in conc["levels"]])
    right.set_xlabel("concurrent astream calls")
    right.set_ylabel("wall time for all of them, s (log scale; median)")
    right.set_title(
        f"Concurrency: {sizes['ttfb']:g} s to first byte, "
        f"{sizes['conc_pieces']} pieces each",
        fontsize=11,
    )
    right.grid(which="both", alpha=0.3)
    right.legend(fontsize=9, loc="upper left")

    fig.suptitle(
        f"langchain-liaobots vs floors and peers: nproc {machine['nproc']}, "
        f"{machine['cpu_model']}, {machine['python']}",
        fontsize=12,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

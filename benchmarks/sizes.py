"""The sizes of a run: :data:`FULL` (``make bench``) and :data:`SMOKE` (CI)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FULL", "SMOKE", "Sizes"]


@dataclass(frozen=True)
class Sizes:
    """The sizes of one run.

    Attributes:
        name: ``"full"`` or ``"smoke"``.
        cpu_pieces: Pieces per answer for figure 1.
        cpu_pace: Seconds between pieces for figure 1.
        cpu_rounds: Rounds of figure 1.
        burst_pieces: Pieces per answer for figure 2 (no pacing).
        burst_rounds: Rounds of figure 2.
        conc_streams: Concurrent streams of figure 3.
        conc_pieces: Pieces per stream in figures 3 and the curve.
        conc_pace: Seconds between those pieces.
        ttfb: Seconds to the first byte in figure 3 and the curve.
        conc_rounds: Rounds at ``conc_streams`` streams.
        curve: The stream counts of the concurrency curve.
        curve_rounds: Rounds at the other points of the curve.
        thread_rounds_upto: Above this many streams the thread-executor peer
            (seconds per round) is measured once.
        lat_pieces: Pieces per answer for figure 4.
        lat_pace: Seconds between those pieces.
        lat_rounds: Rounds of figure 4.
        import_rounds: Fresh interpreters per module for figure 5.
        capacity_levels: Concurrent streams tried for figure 6.
        capacity_pieces: Pieces per stream for figure 6.
        capacity_pace: Seconds between those pieces.
        prepare_lengths: Conversation lengths (messages) for figure 7.
        prepare_rounds: Rounds of figure 7 at each length.
        pool_streams: Concurrent ``astream`` calls of figure 8.
        pool_pieces: Pieces per stream for figure 8.
        pool_pace: Seconds between those pieces (after ``ttfb``).
        pool_rounds: Fresh interpreters per peer for figure 8.
        replies_cases: Cases of figure 9 (``None``: all).
        hostile_length: N, the repeated characters of figure 10's shapes.
        hostile_rounds: Rounds of figure 10 at N and at 4N.
        loop_steps: Steps of the agent loop of figure 11.
    """

    name: str
    cpu_pieces: int
    cpu_pace: float
    cpu_rounds: int
    burst_pieces: int
    burst_rounds: int
    conc_streams: int
    conc_pieces: int
    conc_pace: float
    ttfb: float
    conc_rounds: int
    curve: tuple[int, ...]
    curve_rounds: int
    thread_rounds_upto: int
    lat_pieces: int
    lat_pace: float
    lat_rounds: int
    import_rounds: int
    capacity_levels: tuple[int, ...]
    capacity_pieces: int
    capacity_pace: float
    prepare_lengths: tuple[int, ...]
    prepare_rounds: int
    pool_streams: int
    pool_pieces: int
    pool_pace: float
    pool_rounds: int
    replies_cases: int | None
    hostile_length: int
    hostile_rounds: int
    loop_steps: int


FULL = Sizes(
    name="full",
    cpu_pieces=500,
    cpu_pace=0.0005,
    cpu_rounds=15,
    burst_pieces=2000,
    burst_rounds=15,
    conc_streams=64,
    conc_pieces=50,
    conc_pace=0.001,
    ttfb=0.5,
    conc_rounds=5,
    curve=(1, 2, 4, 8, 16, 32, 64, 128, 256),
    curve_rounds=3,
    thread_rounds_upto=64,
    lat_pieces=100,
    lat_pace=0.005,
    lat_rounds=5,
    import_rounds=15,
    capacity_levels=(64, 128, 256, 512),
    capacity_pieces=20,
    capacity_pace=0.05,
    prepare_lengths=(10, 1_000, 8_000),
    prepare_rounds=15,
    pool_streams=1024,
    pool_pieces=50,
    pool_pace=0.01,
    pool_rounds=5,
    replies_cases=None,
    hostile_length=100_000,
    hostile_rounds=3,
    loop_steps=100,
)

SMOKE = Sizes(
    name="smoke",
    cpu_pieces=50,
    cpu_pace=0.0005,
    cpu_rounds=2,
    burst_pieces=200,
    burst_rounds=2,
    conc_streams=8,
    conc_pieces=10,
    conc_pace=0.001,
    ttfb=0.1,
    conc_rounds=1,
    curve=(1, 8),
    curve_rounds=1,
    thread_rounds_upto=8,
    lat_pieces=20,
    lat_pace=0.005,
    lat_rounds=1,
    import_rounds=1,
    capacity_levels=(16, 32),
    capacity_pieces=5,
    capacity_pace=0.02,
    prepare_lengths=(10, 100),
    prepare_rounds=2,
    pool_streams=16,
    pool_pieces=5,
    pool_pace=0.005,
    pool_rounds=1,
    replies_cases=6,
    hostile_length=1_000,
    hostile_rounds=1,
    loop_steps=5,
)

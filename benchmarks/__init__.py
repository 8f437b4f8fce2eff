"""Benchmarks of ``ChatLiaobots`` against the floor and its peers (``make bench``).

Benchmark code, not part of the product: :mod:`benchmarks.servers` runs the
package's ``LiaobotsEmulator`` (and an OpenAI-compatible SSE endpoint for the
``ChatOpenAI`` peer) in a separate process; :mod:`benchmarks.run` measures the
figures of issues 5 and 15 side by side in one client process and writes
``results.json`` and ``results.png``.

Layout: :mod:`benchmarks.targets` is the one table of the figures and their
targets; ``fig_cpu``, ``fig_burst``, ``fig_concurrency``, ``fig_latency``,
``fig_imports``, ``fig_capacity``, ``fig_prepare``, ``fig_pool`` and
``fig_replies`` measure and print one figure each;
:mod:`benchmarks.rounds` holds the measuring loops they share,
:mod:`benchmarks.common` the labels, statistics, tables and the server process,
:mod:`benchmarks.sizes` the full and smoke sizes, :mod:`benchmarks.peers` the
peers measured.
"""

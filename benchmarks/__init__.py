"""Benchmarks of ``ChatLiaobots`` against the floor and its peers (``make bench``).

Benchmark code, not part of the product: :mod:`benchmarks.servers` runs the
package's ``LiaobotsEmulator`` (and an OpenAI-compatible SSE endpoint for the
``ChatOpenAI`` peer) in a separate process; :mod:`benchmarks.run` measures the six
figures of issue 5 side by side in one client process and writes
``results.json`` and ``results.png``.
"""

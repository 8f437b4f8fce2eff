"""``python -m benchmarks [--smoke] [--out DIR]``: see :mod:`benchmarks.run`."""

from benchmarks.run import main

main()

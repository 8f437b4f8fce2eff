"""``python -m benchmarks [--smoke] [--only 1,3] [--out DIR]``: see :mod:`.run`."""

from benchmarks.run import main

main()

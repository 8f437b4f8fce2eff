"""I/O: the drivers that perform an exchange's steps, and the owner of clients."""

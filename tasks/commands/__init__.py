"""The I/O of the commands that are not stages: monitor, predict, replay, ingest, compare, watchlist, signals."""

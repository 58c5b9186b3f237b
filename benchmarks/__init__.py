"""`make bench`: timings as ratios against references measured in the same run."""

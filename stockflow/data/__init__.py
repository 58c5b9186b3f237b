"""Market data: bars read in every format people download, checked bar by bar, and generated with a known answer."""

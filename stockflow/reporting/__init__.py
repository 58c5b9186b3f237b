"""What a run says: its summary lines, its headline figures, its plots, a watchlist's table."""

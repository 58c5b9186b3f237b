"""A universe: the panel of its tickers, the field's factors, the scores ranked each day, the portfolio."""

"""Trading a forecast: the backtest's rules and costs, the strategy search, position sizing, the ratios."""

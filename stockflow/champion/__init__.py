"""The champion and its successors: the gate, the monitor's statistics, and retraining replayed over history."""

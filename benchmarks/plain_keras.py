"""The reference a user would compare `stockflow run` with: a plain Keras script, no stockflow imports.

The same network (two LSTM layers of 50, 10% dropout, Adam, MSE, MAE), the same inputs (20-day
windows of standard-scaled log returns, the next day's log return as target), the same
chronological 70/10/20 split and data, 3 epochs without early stopping; it scores the test window.
Run as a process of its own: `python benchmarks/plain_keras.py data/sp500.csv`.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

LOOKBACK, EPOCHS, TEST, VAL = 20, 3, 0.2, 0.1


def main(path: str) -> None:
    import keras

    close = pd.read_csv(path)["Close"].to_numpy(dtype=float)
    r = np.diff(np.log(close))
    x = np.stack([r[i - LOOKBACK : i] for i in range(LOOKBACK, len(r))])[..., None]
    y = r[LOOKBACK:]
    n_test, n_val = int(len(x) * TEST), int(len(x) * VAL)
    n_train = len(x) - n_test - n_val
    mean, std = r[: n_train + LOOKBACK].mean(), r[: n_train + LOOKBACK].std()
    x, y = (x - mean) / std, (y - mean) / std

    keras.utils.set_random_seed(42)
    model = keras.Sequential([keras.Input((LOOKBACK, 1)), keras.layers.LSTM(50, return_sequences=True),
                              keras.layers.Dropout(0.1), keras.layers.LSTM(50), keras.layers.Dense(1)])  # fmt: skip
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="mse", metrics=["mae"])
    model.fit(x[:n_train], y[:n_train], validation_data=(x[n_train:-n_test], y[n_train:-n_test]), epochs=EPOCHS,
              batch_size=32, shuffle=True, verbose=0)  # fmt: skip
    predicted = model.predict(x[-n_test:], verbose=0, batch_size=1024)[:, 0] * std + mean
    today = close[LOOKBACK:-1][-n_test:]
    mae = np.mean(np.abs(today * np.exp(predicted) - close[LOOKBACK + 1 :][-n_test:]))
    persistence = np.mean(np.abs(today - close[LOOKBACK + 1 :][-n_test:]))
    print(f"test MAE {mae:.3f}, persistence {persistence:.3f}, ratio {mae / persistence:.3f}")


if __name__ == "__main__":
    main(sys.argv[1])

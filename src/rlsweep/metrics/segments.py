"""Per-series reductions over many series laid end to end (one numpy call per reduction).

Objectives are computed for every trial-seed of a sweep at once: per-series
numpy calls cost more than reading a trial-seed's columnar copy.
"""

from __future__ import annotations

import numpy as np

#: the last share of a curve whose mean is its final value
FINAL_FRACTION = 0.1


class Segments:
    """Series laid end to end, with per-series reductions (NaN for a series with no values)."""

    def __init__(self, values: np.ndarray, lengths: np.ndarray, steps=None):
        """``steps``: the values' steps, or a function that makes them (only auc needs them)."""
        self.values = values
        self.lengths = lengths
        self.ends = np.cumsum(lengths)
        self.starts = self.ends - lengths
        self.some = lengths > 0
        self._steps = steps

    @classmethod
    def of(cls, series: list[tuple[np.ndarray, np.ndarray]]) -> Segments:
        """From (steps, values) pairs, one per series."""
        lengths = np.fromiter((values.size for _, values in series), np.int64, len(series))
        values = np.concatenate([v for _, v in series]).astype(float, copy=False)
        return cls(values, lengths, lambda: np.concatenate([s for s, _ in series]).astype(float))

    @property
    def steps(self) -> np.ndarray:
        if callable(self._steps):
            self._steps = self._steps()
        return self._steps

    def _filled(self, where: np.ndarray, values) -> np.ndarray:
        out = np.full(self.lengths.size, np.nan)
        out[where] = values
        return out

    def _sums(self, values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Sum of values[start:end] for each pair (every start < end)."""
        if not starts.size:
            return starts.astype(float)
        bounds = np.stack([starts, ends], axis=1).ravel()
        if bounds[-1] == values.size:  # reduceat sums the last start's values to the end anyway
            bounds = bounds[:-1]
        return np.add.reduceat(values, bounds)[::2]

    def tail_mean(self) -> np.ndarray:
        """Mean of the last FINAL_FRACTION of each series' values (at least one)."""
        tail = np.maximum(1, np.ceil(FINAL_FRACTION * self.lengths[self.some])).astype(np.int64)
        ends = self.ends[self.some]
        return self._filled(self.some, self._sums(self.values, ends - tail, ends) / tail)

    def head_mean(self) -> np.ndarray:
        """Mean of the first FINAL_FRACTION of each series' values (at least one)."""
        head = np.maximum(1, np.ceil(FINAL_FRACTION * self.lengths[self.some])).astype(np.int64)
        starts = self.starts[self.some]
        return self._filled(self.some, self._sums(self.values, starts, starts + head) / head)

    def slope(self) -> np.ndarray:
        """Least-squares slope of values against steps (NaN with < 2 values or one step)."""
        several = self.lengths > 1
        if not several.any():
            return self._filled(several, [])
        pick = np.repeat(several, self.lengths)
        x, y, lengths = self.steps[pick], self.values[pick], self.lengths[several]
        ends = np.cumsum(lengths)
        starts = ends - lengths
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # inf/NaN: NaN
            x = x - np.repeat(self._sums(x, starts, ends) / lengths, lengths)
            y = y - np.repeat(self._sums(y, starts, ends) / lengths, lengths)
            spread = self._sums(x * x, starts, ends)
            slope = np.where(spread > 0, self._sums(x * y, starts, ends) / spread, np.nan)
        return self._filled(several, slope)

    def mean(self) -> np.ndarray:
        starts, ends = self.starts[self.some], self.ends[self.some]
        return self._filled(self.some, self._sums(self.values, starts, ends) / (ends - starts))

    def reduce(self, ufunc) -> np.ndarray:
        """``ufunc`` over each series (the non-empty series tile the values)."""
        starts = self.starts[self.some]
        return self._filled(self.some, ufunc.reduceat(self.values, starts) if starts.size else [])

    def std(self) -> np.ndarray:
        """Sample standard deviation (ddof 1) of each series with two values or more."""
        several = self.lengths > 1
        lengths = self.lengths[several]
        deviations = self.values - np.repeat(self.mean()[self.some], self.lengths[self.some])
        squares = deviations[np.repeat(several, self.lengths)] ** 2
        ends = np.cumsum(lengths)
        variance = self._sums(squares, ends - lengths, ends) / (lengths - 1)
        return self._filled(several, np.sqrt(variance))

    def last(self) -> np.ndarray:
        return self._filled(self.some, self.values[self.ends[self.some] - 1])

    def auc(self) -> np.ndarray:
        """Trapezoid area over steps scaled to [0, 1] (evenly spaced if all steps are equal).

        A one-value series' area is its value.
        """
        out = self._filled(self.lengths == 1, self.values[self.starts[self.lengths == 1]])
        several = self.lengths > 1
        if not several.any():
            return out
        steps, starts, ends = self.steps, self.starts[several], self.ends[several]
        middles = (self.values[1:] + self.values[:-1]) / 2.0  # pairs across series: never summed
        span = steps[ends - 1] - steps[starts]
        area = self._sums(np.diff(steps) * middles, starts, ends - 1)
        flat = span == 0  # then x is evenly spaced: each pair's width is 1 / (n - 1)
        if flat.any():
            evenly = self._sums(middles, starts, ends - 1) / (ends - starts - 1)
            area = np.where(flat, evenly, area / np.where(flat, 1.0, span))
        else:
            area = area / span
        out[several] = area
        return out

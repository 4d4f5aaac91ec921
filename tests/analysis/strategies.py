"""Hypothesis strategies shared by the analysis core tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


@st.composite
def rating_matrices(draw: st.DrawFn, max_rows: int = 40, max_cols: int = 6):
    """A pair of (n, m) uint8 matrices with values 0–5 (0 = unanswered)."""
    n = draw(st.integers(1, max_rows))
    m = draw(st.integers(1, max_cols))
    elems = st.integers(0, 5)
    imp = draw(hnp.arrays(np.uint8, (n, m), elements=elems))
    sat = draw(hnp.arrays(np.uint8, (n, m), elements=elems))
    return imp, sat

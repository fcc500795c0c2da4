"""LightGBM's C library handle and its error check, for the single-row fast prediction path that the Python
package does not expose (`serving/fast_scoring/lightgbm_rows.py`)."""

from lightgbm.basic import _LIB, _safe_call

LIGHTGBM_LIBRARY = _LIB
checked_call = _safe_call

__all__ = ["LIGHTGBM_LIBRARY", "checked_call"]

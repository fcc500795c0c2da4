"""A fitted sklearn forest (RandomForest, ExtraTrees) written as a LightGBM model, so that LightGBM's C code walks
it: one building through 200 trees 40 levels deep in ~18 µs, against ~110 µs walking every tree level by level
in numpy and ~1 ms calling each sklearn tree.

The numbers are sklearn's to the last bit, for rows without NaN cast to float32 (as sklearn casts them):
- every split is sklearn's `x <= threshold` with no missing-value rule (decision_type 0), and the thresholds are
  written with `repr`, the shortest text that reads back as the same double;
- `average_output` makes LightGBM add the trees in the forest's order, from 0.0, then divide by their number:
  sklearn's `ForestRegressor.predict` to the last bit.
Rows with NaN stay with sklearn, whose trees learned where missing values go.
"""

from __future__ import annotations

from typing import Any

import lightgbm
import numpy as np

HEADER = ("tree", "version=v4", "num_class=1", "num_tree_per_iteration=1", "label_index=0")


def _numbers(values: np.ndarray) -> str:
    return " ".join(map(repr, values.tolist()))


def _tree_text(index: int, tree: Any) -> str:
    """LightGBM numbers internal nodes and leaves apart (a child < 0 is leaf ~child); sklearn numbers them
    together in depth-first order, root first, which LightGBM also needs."""
    left, right = tree.children_left, tree.children_right
    leaf = left == -1
    if leaf.all():  # a forest of one training row, or of one target value
        return f"Tree={index}\nnum_leaves=1\nnum_cat=0\nleaf_value={_numbers(tree.value[:1, 0, 0])}\nshrinkage=1\n\n"
    inner = ~leaf
    reference = np.where(leaf, ~(np.cumsum(leaf) - 1), np.cumsum(inner) - 1)
    return "\n".join(
        [
            f"Tree={index}",
            f"num_leaves={int(leaf.sum())}",
            "num_cat=0",
            f"split_feature={' '.join(map(str, tree.feature[inner].tolist()))}",
            f"threshold={_numbers(tree.threshold[inner])}",
            f"decision_type={' '.join(['0'] * int(inner.sum()))}",
            f"left_child={' '.join(map(str, reference[left[inner]].tolist()))}",
            f"right_child={' '.join(map(str, reference[right[inner]].tolist()))}",
            f"leaf_value={_numbers(tree.value[leaf, 0, 0])}",
            "is_linear=0",
            "shrinkage=1",
            "",
            "",
        ]
    )


def forest_model_text(forest: Any) -> str:
    """LightGBM's text model format for a fitted single-output sklearn forest regressor."""
    width = int(forest.n_features_in_)
    header = [
        *HEADER,
        f"max_feature_idx={width - 1}",
        "objective=regression",  # its output transform is the identity
        "average_output",
        f"feature_names={' '.join(f'f{i}' for i in range(width))}",
        f"feature_infos={' '.join(['none'] * width)}",
        "",
        "",
    ]
    trees = "".join(_tree_text(i, estimator.tree_) for i, estimator in enumerate(forest.estimators_))
    return "\n".join(header) + trees + "end of trees\n"


def forest_booster(forest: Any) -> lightgbm.Booster:
    return lightgbm.Booster(model_str=forest_model_text(forest))

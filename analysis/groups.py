"""The dimensions and groups that `summary.csv` reports, as an item × group membership matrix.

Dimensions, in report order: `overall` (group `all`); `label` (`real`, `fake`; single mode only);
`generator` (one group per generator holding its generated images, plus `real` for all real images);
`size` (display size in px); `native_size` (the original's short side: `<=256`, `<=512`, `<=1024`,
`>1024`); `category`; `generator_size` (generator × display size, written `<generator>|<size>`).
In pair mode a pair belongs to the groups of its generated image.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis.dataset import NATIVE_BUCKETS

DIMENSIONS = ("overall", "label", "generator", "size", "native_size", "category", "generator_size")


@dataclass(frozen=True)
class GroupIndex:
    """`keys`: one row per group (dimension, group); `membership`: items × groups, 1 = member."""

    keys: pd.DataFrame
    membership: sp.csr_array


def item_groups(items: pd.DataFrame, mode: str) -> dict[str, pd.Series]:
    """Each dimension's group label per item (missing where an item has no group in it)."""
    size = items["size"].astype("str")
    labels = {
        "overall": pd.Series("all", index=items.index, dtype="str"),
        "label": (
            pd.Series(np.where(items["is_fake"].to_numpy(bool), "fake", "real"), dtype="str")
            if mode == "single"
            else pd.Series(np.nan, index=items.index, dtype="str")
        ),
        "generator": items["generator"].astype("str"),
        "size": size,
        "native_size": items["native_size"].astype("str"),
        "category": items["category"].astype("str"),
        "generator_size": items["generator"].astype("str") + "|" + size,
    }
    return {d: labels[d].set_axis(items.index) for d in DIMENSIONS}


def group_index(items: pd.DataFrame, mode: str) -> GroupIndex:
    """All groups of all dimensions, in report order, with their member items."""
    keys, rows, columns = [], [], []
    for dimension, labels in item_groups(items, mode).items():
        present = labels.dropna().unique().tolist()
        for group in sorted(present, key=lambda g, d=dimension: _group_order(d, g)):
            members = np.flatnonzero((labels == group).to_numpy(bool))
            rows.append(members)
            columns.append(np.full(len(members), len(keys)))
            keys.append((dimension, group))
    rows_all = np.concatenate(rows) if rows else np.array([], int)
    columns_all = np.concatenate(columns) if columns else np.array([], int)
    membership = sp.csr_array(
        (np.ones(len(rows_all)), (rows_all, columns_all)), shape=(len(items), len(keys))
    )
    return GroupIndex(pd.DataFrame(keys, columns=["dimension", "group"]), membership)


def _group_order(dimension: str, group: str) -> tuple:
    if dimension == "native_size":
        return (NATIVE_BUCKETS.index(group),)
    if dimension == "size":
        return (int(group),)
    if dimension == "generator_size":
        generator, size = group.rsplit("|", 1)
        return (generator != "real", generator, int(size))
    return (group != "real", group)

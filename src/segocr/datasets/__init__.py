"""Datasets: a registry of named, labelled plate collections with one leak-free split."""

from segocr.datasets.base import Dataset, PlateSample, dataset_names, load_dataset, register_dataset
from segocr.datasets.splits import group_split

__all__ = ["Dataset", "PlateSample", "dataset_names", "group_split", "load_dataset", "register_dataset"]

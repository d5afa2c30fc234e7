"""OPTICAL: optimal-transport distillation for low-resource cross-lingual retrieval."""

__version__ = "0.1.0"

"""Huiliu (汇流): one ticket pool for every channel a Chinese service team lives in."""

__version__ = "0.1.0"

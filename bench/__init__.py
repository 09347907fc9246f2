"""Speed and quality benchmark: ``python -m bench`` (see bench/README.md)."""

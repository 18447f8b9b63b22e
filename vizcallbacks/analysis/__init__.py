"""The analyse stage: numbers over training time, read from records."""

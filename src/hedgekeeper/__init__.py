"""hedgekeeper: keep a 1x short perpetual hedge of a crypto holding."""

__version__ = "0.1.0"

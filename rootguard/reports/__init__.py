"""Reports: what a run writes from its verdicts, one module per format."""

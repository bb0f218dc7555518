"""The performance suite: Siyu measured against minimal baselines in the same run."""

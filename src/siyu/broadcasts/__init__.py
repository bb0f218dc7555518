"""Broadcasts (群发): one message to a segment, a tag filter or a list, on one channel or a
fallback order, with A/B variants and a holdout, planned through messaging."""

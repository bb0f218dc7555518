"""Journeys and SOPs (旅程 / SOP): versioned definitions whose steps send, wait, branch, tag and
hand guides tasks, run exactly once per customer and entry by the jobs table's workers."""

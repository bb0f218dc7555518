"""Tags (标签): names put on customers by hand, by rules or by imports."""

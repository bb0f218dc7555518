"""Reach's foundation (触达): channels and their senders, consent and suppression, caps and quiet
hours, message templates and tracked links, and the delivery log every message goes through."""

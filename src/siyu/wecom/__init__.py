"""WeCom (企业微信): the callback inbox, its flows, outbound calls and the full re-sync."""

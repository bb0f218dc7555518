"""The official account (公众号): its callback inbox, follower attribution and scene QR codes."""

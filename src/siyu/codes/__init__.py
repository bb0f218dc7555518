"""Channel codes (渠道活码): one QR code per touchpoint, store, guide, poster or product item."""

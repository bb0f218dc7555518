"""Promotions (活动): coupons, flash sales and the mall's checkout API."""

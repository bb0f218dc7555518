"""Events Siyu understands by name (docs/events.md describes each)."""

ECOMMERCE = (
    "Products Searched", "Product List Viewed", "Product Viewed", "Product Clicked",
    "Product Added", "Product Removed", "Cart Viewed", "Checkout Started", "Payment Info Entered",
    "Order Completed", "Order Updated", "Order Refunded", "Order Cancelled",
    "Coupon Entered", "Coupon Applied", "Coupon Denied", "Coupon Removed",
    "Promotion Viewed", "Promotion Clicked", "Product Shared", "Product Reviewed",
)
PRIVATE_DOMAIN = (
    "QR Code Scanned", "Contact Added", "Contact Deleted", "Official Account Followed",
    "Official Account Unfollowed", "Group Joined", "Group Left", "Message Sent", "Message Read",
    "Referral Completed", "SMS Sent", "SMS Clicked", "Coupon Issued", "Coupon Redeemed",
)
KNOWN = frozenset(ECOMMERCE + PRIVATE_DOMAIN)

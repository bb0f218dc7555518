"""How reach's channels, statuses and reasons read to people (message ids; translate at the
edge with the reader's catalog)."""

from __future__ import annotations

from siyu.core.i18n import N_

CHANNEL_LABELS = {
    "wecom": N_("WeCom"),
    "official_account": N_("Official account"),
    "sms": N_("SMS"),
    "email": N_("Email"),
    "call": N_("Outbound call"),
}
MODE_LABELS = {
    "off": N_("Off"),
    "console": N_("Log only"),
    "live": N_("Live"),
}
CONSENT_LABELS = {
    "subscribed": N_("Subscribed"),
    "unsubscribed": N_("Unsubscribed"),
    None: N_("Not recorded"),
}
DELIVERY_STATUS_LABELS = {
    "planned": N_("Planned"),
    "sending": N_("Sending"),
    "pending": N_("Awaiting confirmation"),
    "sent": N_("Sent"),
    "delivered": N_("Delivered"),
    "failed": N_("Failed"),
    "left_out": N_("Left out"),
    "held_out": N_("Holdout"),
    "cancelled": N_("Cancelled"),
}
# Why a message was not sent, or failed.
REASON_LABELS = {
    "no_consent": N_("No consent"),
    "unsubscribed": N_("Unsubscribed"),
    "suppressed": N_("Suppressed address"),
    "capped": N_("Over the frequency cap"),
    "no_channel": N_("Channel off or not reachable"),
    "no_address": N_("No address on this channel"),
    "platform_limit": N_("Platform limit"),
    "cancelled": N_("Cancelled"),
    "bounced": N_("Bounced"),
    "template": N_("A template variable is missing"),
}
SUPPRESSION_LABELS = {
    "bounced": N_("Bounced"),
    "complaint": N_("Complaint"),
    "replied_unsubscribe": N_("Replied to unsubscribe"),
    "do_not_call": N_("Do not call"),
    "unfollowed": N_("Unfollowed"),
    "manual": N_("Unsubscribed"),
}

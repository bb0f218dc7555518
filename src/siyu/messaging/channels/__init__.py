"""Each channel's sender (one module a channel) behind the one Sender interface
(messaging.sending): console (development and the demo), email (SMTP), and the platforms'."""

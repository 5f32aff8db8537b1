"""The Handle wire protocol (RFC 3652): pure encode/decode, no sockets."""

"""One sender per channel kind (``kind -> send``)."""

from __future__ import annotations

from helan.rules.notify.channels import command, dingtalk, email, mqtt, webhook, wecom
from helan.rules.notify.channels.base import ChannelSpec, SendContext, Sender, SendFailed
from helan.rules.notify.configs import Kind

SENDERS: dict[str, Sender] = {
    Kind.WEBHOOK: webhook.send,
    Kind.EMAIL: email.send,
    Kind.WECOM: wecom.send,
    Kind.DINGTALK: dingtalk.send,
    Kind.MQTT: mqtt.send,
    Kind.COMMAND: command.send,
}

__all__ = ["SENDERS", "ChannelSpec", "SendContext", "SendFailed", "Sender"]

"""The words of a notice, in Chinese and English, for the channels people read (e-mail,
WeCom, DingTalk)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

KIND_ZH = {
    "raised": "告警触发",
    "cleared": "告警恢复",
    "escalated": "告警升级",
    "acknowledged": "告警已确认",
    "summary": "通知汇总",
    "test": "测试通知",
}
KIND_EN = {
    "raised": "Alarm raised",
    "cleared": "Alarm cleared",
    "escalated": "Alarm escalated",
    "acknowledged": "Alarm acknowledged",
    "summary": "Notification summary",
    "test": "Test notification",
}
SEVERITY_ZH = {"critical": "紧急", "high": "高", "medium": "中", "low": "低"}


def when(notice: dict[str, Any]) -> str:
    ts = notice.get("ts_ms")
    if not isinstance(ts, int):
        return "-"
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def title(notice: dict[str, Any]) -> str:
    kind = str(notice.get("kind", ""))
    severity = str(notice.get("severity", ""))
    head = f"[{SEVERITY_ZH.get(severity, severity)}] {KIND_ZH.get(kind, kind)}"
    return f"{head} / {KIND_EN.get(kind, kind)}: {notice.get('message', '')}"[:200]


def values_lines(notice: dict[str, Any]) -> list[str]:
    values = notice.get("values") or {}
    return [f"{k} = {v}" for k, v in sorted(values.items())][:50]


def plain(notice: dict[str, Any]) -> str:
    """A zh-CN paragraph, then the same in English."""
    kind = str(notice.get("kind", ""))
    severity = str(notice.get("severity", ""))
    device, rule = notice.get("device", ""), notice.get("rule_id", "")
    lines = [
        f"{KIND_ZH.get(kind, kind)}(级别:{SEVERITY_ZH.get(severity, severity)})",
        f"设备:{device}  规则:{rule}  时间:{when(notice)}",
        f"内容:{notice.get('message', '')}",
        *values_lines(notice),
        "",
        f"{KIND_EN.get(kind, kind)} (severity: {severity})",
        f"Device: {device}  Rule: {rule}  Time: {when(notice)}",
        f"Message: {notice.get('message', '')}",
        "",
        f"Alarm {notice.get('alarm_id', '')}, key {notice.get('key', '')}",
    ]
    return "\n".join(lines)


def markdown(notice: dict[str, Any]) -> str:
    kind = str(notice.get("kind", ""))
    severity = str(notice.get("severity", ""))
    values = "\n".join(f"> {line}" for line in values_lines(notice))
    return (
        f"### {KIND_ZH.get(kind, kind)} / {KIND_EN.get(kind, kind)}\n"
        f"**{notice.get('message', '')}**\n\n"
        f"> 级别 Severity: {SEVERITY_ZH.get(severity, severity)} ({severity})\n"
        f"> 设备 Device: {notice.get('device', '')}\n"
        f"> 规则 Rule: {notice.get('rule_id', '')}\n"
        f"> 时间 Time: {when(notice)}\n" + (f"{values}\n" if values else "")
    )

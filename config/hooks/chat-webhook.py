#!/usr/bin/env python3
"""An [alerts] command example: post each alert to a chat room's incoming webhook on the
store's network (Mattermost, Rocket.Chat and Slack-style webhooks take {"text": ...}).

    [alerts]
    command = ["/opt/cx-station/venv/bin/python", "/etc/cx-station/hooks/chat-webhook.py",
               "http://chat.store.lan/hooks/abc123"]

cx-watch gives the alert as JSON on stdin. The customer's comment stays out of the chat
unless --with-comment is given: a chat room is read by more people than the admin screen.
Exit status 0 when the chat server took it; anything else is logged by cx-watch.
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.request

WHAT = {
    "detractor": "a customer answered {score}/10",
    "kpi_below_target": "{subject} is below its target ({value:g} against {target:g})",
    "camera_no_frame": "the camera has given no picture for {seconds_without_frame:.0f} s",
    "camera_fps_low": "the camera runs slow ({fps:g} frames/s)",
    "sync_stalled": "HQ has not confirmed anything while {backlog} events wait",
    "disk_low": "the disk is almost full ({free_mb:.0f} MB free)",
    "db_write_errors": "{subject} could not write the database ({last_error})",
    "kiosk_quiet": "the kiosk got no answer in {hours:g} h while {entries} shoppers came in",
}


def message(alert: dict, with_comment: bool) -> str:
    context = alert.get("context") or {}
    try:
        what = WHAT[alert["kind"]].format(subject=alert.get("subject"), **context)
    except (KeyError, ValueError, TypeError):
        what = f"{alert.get('kind')} on {alert.get('subject')}"
    reasons = context.get("reasons")
    if reasons:
        what += f"; reasons: {', '.join(reasons)}"
    if with_comment and context.get("comment"):
        what += f'; "{context["comment"]}"'
    count = alert.get("count") or 1
    state = "" if alert.get("state") == "open" else f" ({alert.get('state')})"
    return (f"[{str(alert.get('severity', '')).upper()}] {alert.get('station')}: {what}"
            + (f" (x{count})" if count > 1 else "") + state)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the chat's incoming webhook URL")
    parser.add_argument("--with-comment", action="store_true",
                        help="include the customer's free-text comment")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    alert = json.load(sys.stdin)
    body = json.dumps({"text": message(alert, args.with_comment)}).encode()
    request = urllib.request.Request(args.url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=args.timeout) as response:
        return 0 if 200 <= response.status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Alerts: adoption leaving the forecast band, and who is told."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from app.services.recorded import observed_series
from app.services.settings import get_settings
from app.services.snapshots import latest_forecast
from db import forecasts as store


def check_deviation(engine: Engine, *, notify: Callable[[str], None] | None = None) -> list[str]:
    """Job `check-deviation`: alert when actual adoption left the latest forecast's 80% band for
    two weeks in a row (weeks observed after the forecast was made).

    Args:
        engine: the store's engine.
        notify: called with each new alert's message (e.g. an e-mail sender); optional.

    Returns:
        The messages of the alerts stored by this run.
    """
    doc = latest_forecast(engine)
    if doc is None or not doc.plans:
        return []
    bands = doc.plans[0].bands
    series = observed_series(engine)
    by_week = dict(zip(series["week"], series["active_share"], strict=True))
    starts = dict(zip(series["week"], series["week_start"], strict=True))
    outside = []
    for week, lo, hi in zip(bands.week, bands.p10, bands.p90, strict=True):
        if week in by_week:
            share = by_week[week]
            outside.append((week, share, lo, hi, share < lo or share > hi))
    messages = []
    for (*_, out1), (w2, share, lo, hi, out2) in zip(outside, outside[1:], strict=False):
        if out1 and out2:
            side = "below" if share < lo else "above"
            message = (f"Adoption was {side} the forecast's 80% band for two weeks running "
                       f"(week {w2}: {share:.0%} against {lo:.0%}-{hi:.0%}).")
            if store.add_alert(engine, kind="deviation", message=message, week_start=starts[w2]):
                messages.append(message)
                if notify is not None:
                    notify(message)
    return messages


def email_notifier() -> Callable[[str], None] | None:
    """An e-mail sender when SMTP settings are given (CHASM_SMTP_HOST, CHASM_ALERT_TO), else None."""
    import smtplib
    from email.message import EmailMessage

    settings = get_settings()
    host, port, sender, to = settings.smtp_host, settings.smtp_port, settings.smtp_from, settings.alert_to
    if not host or not to:
        return None

    def send(message: str) -> None:
        mail = EmailMessage()
        mail["Subject"], mail["From"], mail["To"] = "Chasm: adoption off forecast", sender, to
        mail.set_content(message)
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            smtp.send_message(mail)

    return send

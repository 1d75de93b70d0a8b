"""The leadership brief: headline numbers of a forecast document, its chart as PNG, a one-page PDF.

Works on a `ForecastDocument` alone (no database, no streamlit).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date
from typing import Any

import pandas as pd
from fpdf import FPDF

from app.services.charts import OKABE_ITO, VERMILION
from app.services.documents import FacilityForecast, ForecastDocument
from app.services.words import day, money, points

TITLE = "Chasm adoption forecast"


def current_share(doc: ForecastDocument) -> tuple[float, date | None]:
    """The latest observed active share and the week it starts."""
    starts = doc.observed.week_start
    return float(doc.observed.active_share[-1]), starts[-1] if starts else None


def plan_table(doc: ForecastDocument) -> pd.DataFrame:
    """One row per plan, as people read it (the current plan first)."""
    rows = []
    for plan in doc.plans:
        week = plan.expected_week_of_target
        reached = None if week is None else doc.date_of(round(week))
        rows.append({
            "Plan": plan.plan,
            "What it does": plan.description,
            f"Chance of {doc.target:.0%} by {when(doc, doc.target_week)}": plan.probability_of_target,
            f"Expected on {when(doc, doc.horizon_week)}": plan.expected_at_horizon,
            "Expected to reach the target": ("not within the forecast" if week is None else
                                             day(reached) if reached else f"week {round(week)}"),
            "Cost": plan.cost or 0.0,
            "Downtime hours saved": plan.downtime_hours_saved or 0.0,
            "Downtime saving": plan.downtime_saving or 0.0,
        })
    return pd.DataFrame(rows)


def facility_table(doc: ForecastDocument) -> pd.DataFrame:
    """One row per facility's early-warning forecast, as people read it (empty when there are none)."""
    rows = []
    for f in doc.facilities:
        at = day(f.week_start[-1])
        rows.append({
            "Facility": f.facility,
            "Weeks live": f.weeks_live,
            "Now": f.now,
            f"Expected on {at}": f.p50[-1],
            "80% band": f"{f.p10[-1]:.0%} to {f.p90[-1]:.0%}",
            f"Chance of {doc.target:.0%} by {day(f.target_date)}": f.chance_of_target,
        })
    return pd.DataFrame(rows)


def facility_sentence(doc: ForecastDocument, facility: str) -> str | None:
    """One facility's forecast in one sentence, or None when the document has none for it."""
    f = next((f for f in doc.facilities if f.facility == facility), None)
    if f is None:
        return None
    return (f"{f.facility} is at {f.now:.0%} after {f.weeks_live} weeks; by {day(f.week_start[-1])} it is "
            f"expected at {f.p50[-1]:.0%} (80% band {f.p10[-1]:.0%} to {f.p90[-1]:.0%}), with a "
            f"{f.chance_of_target:.0%} chance of holding {doc.target:.0%} by {day(f.target_date)}. "
            f"{f.why}")


def early_sentence(warning: FacilityForecast, target: float) -> str:
    """The early warning (a few weeks stored) in one sentence, with why its band is as wide as it is."""
    weeks = f"{warning.weeks_live} week{'s' if warning.weeks_live != 1 else ''}"
    return (f"After {weeks}, {warning.now:.0%} of technicians use the tool; by {day(warning.week_start[-1])} "
            f"adoption is expected at {warning.p50[-1]:.0%} (80% band {warning.p10[-1]:.0%} to "
            f"{warning.p90[-1]:.0%}), with a {warning.chance_of_target:.0%} chance of holding {target:.0%} "
            f"by {day(warning.target_date)}. {warning.why}")


def early_table(warning: FacilityForecast, every: int = 4) -> pd.DataFrame:
    """The early warning every `every` weeks, as people read it: week, expected share, 80% band."""
    picks = list(range(every - 1, len(warning.week_start), every))
    return pd.DataFrame({
        "Week of": [day(warning.week_start[i]) for i in picks],
        "Expected": [f"{warning.p50[i]:.0%}" for i in picks],
        "80% band": [f"{warning.p10[i]:.0%} to {warning.p90[i]:.0%}" for i in picks],
    })


def when(doc: ForecastDocument, week: int) -> str:
    """A rollout week as its date ("13 July 2026"), or "week 28" when the document has no calendar."""
    when = doc.date_of(week)
    return f"week {week}" if when is None else day(when)


def headline(doc: ForecastDocument, *, currency: str = "€") -> list[str]:
    """Three or four plain sentences: where adoption is, where each plan takes it, how sure we are."""
    share, week_start = current_share(doc)
    latest = f" (week of {day(week_start)})" if week_start else ""
    lines = [f"Today {share:.0%} of technicians use the tool{latest}; the target is "
             f"{doc.target:.0%} by {when(doc, doc.target_week)}, held for at least a month."]
    plans = doc.plans
    if plans:
        now = plans[0]
        name = "" if now.plan == "current plan" else f" ({now.plan})"
        band = now.bands
        spend = f", costing {money(now.cost, currency)}" if now.cost else ""
        lines.append(f"On the current plan{name} the chance of getting there in time is "
                     f"{now.probability_of_target:.0%}{spend}. "
                     f"By {when(doc, doc.horizon_week)} the expected level is "
                     f"{now.expected_at_horizon:.0%} (8 runs in 10 between {band.p10[-1]:.0%} and "
                     f"{band.p90[-1]:.0%}).")
        lines += recommendation(doc, currency=currency)
    if doc.sentence:
        lines.append(doc.sentence)
    return lines


def recommendation(doc: ForecastDocument, *, currency: str = "€") -> list[str]:
    """The recommended plan beside the current one, in one sentence, and why, in another (none without
    alternatives)."""
    plans = doc.plans
    if len(plans) < 2:
        return []
    best = doc.recommendation()
    by = when(doc, doc.target_week)
    if best is None:
        top = max(plans[1:], key=lambda p: p.probability_of_target)
        return [f"No alternative beats the current plan: the best, {top.plan}, has a "
                f"{top.probability_of_target:.0%} chance, costing {money(top.cost or 0, currency)}."]
    lines = [f"We recommend {best.plan}: a {best.probability_of_target:.0%} chance of reaching "
             f"{doc.target:.0%} by {by} (against {plans[0].probability_of_target:.0%} on the current plan), "
             f"costing {money(best.cost or 0, currency)} and saving {best.downtime_hours_saved or 0:,.0f} "
             "hours of unplanned downtime."]
    helping = [d for d in best.drivers if d.mean > 0.0005]
    if len(helping) >= 2:
        first, second = helping[:2]
        lines.append(f"Why: {first.label} matters most ({points(first.mean)} of adoption by {by}), then "
                     f"{second.label} ({points(second.mean)}).")
    elif helping:
        lines.append(f"Why: {helping[0].label} does most of it ({points(helping[0].mean)} of adoption "
                     f"by {by}).")
    return lines


def chart_png(doc: ForecastDocument, *, dpi: int = 150) -> bytes:
    """The forecast fan (observed, then each plan's 80%/95% bands and median) as a PNG."""
    # matplotlib only when a chart is drawn: the Forecast page's sentences and tables do without it.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.dates import DateFormatter
    from matplotlib.ticker import PercentFormatter

    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=dpi)
    dated = bool(doc.observed.week_start)

    def x(weeks: list[int]) -> list[Any]:
        return [doc.date_of(w) for w in weeks] if dated else list(weeks)

    ax.plot(x(doc.observed.week), doc.observed.active_share, color="black", lw=2, label="Observed")
    for colour, plan in zip(OKABE_ITO, doc.plans, strict=False):
        b = plan.bands
        ax.fill_between(x(b.week), b.p025, b.p975, color=colour, alpha=0.15, lw=0)
        ax.fill_between(x(b.week), b.p10, b.p90, color=colour, alpha=0.3, lw=0)
        ax.plot(x(b.week), b.p50, color=colour, lw=2, ls="--", label=f"{plan.plan} (median)")
    ax.axhline(doc.target, color=VERMILION, ls=":", lw=1.5, label=f"Target {doc.target:.0%}")
    ax.set(title="Adoption so far and forecast (bands: 80% and 95% of runs)",
           xlabel="Week" if dated else "Week since rollout start", ylabel="Active share of technicians",
           ylim=(0, 1))
    if dated:
        ax.xaxis.set_major_formatter(DateFormatter("%b %Y"))  # type: ignore[no-untyped-call]
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def _latin1(text: str) -> str:
    for char, latin in (("\u20ac", "EUR "), ("\u2013", "-"), ("\u2014", "-"), ("\u2019", "'"),
                        ("\u2265", ">=")):
        text = text.replace(char, latin)
    return text.encode("latin-1", "replace").decode("latin-1")


def brief_pdf(doc: ForecastDocument, *, today: date | None = None, currency: str = "€") -> bytes:
    """A one-page A4 PDF: title, headline sentences, the chart and the plans table."""
    today = today or date.today()
    scope = doc.facility or "all facilities"
    pdf = FPDF(format="A4")
    pdf.set_title(TITLE)
    pdf.set_author("Chasm")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    made = day(date.fromisoformat(doc.created_at[:10]))
    pdf.cell(0, 6, _latin1(f"{scope.capitalize() if scope[0].islower() else scope} - {day(today)} - "
                           f"forecast made {made}"),
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 11)
    for line in headline(doc, currency=currency):
        pdf.multi_cell(0, 6, _latin1(line), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    pdf.image(io.BytesIO(chart_png(doc)), w=pdf.epw)
    pdf.ln(2)
    _plans(pdf, doc, currency)
    _facilities(pdf, doc)
    pdf.set_y(-15)
    pdf.set_font("Helvetica", "I", 8)
    last = doc.observed.week_start[-1] if doc.observed.week_start else None
    upto = f" up to the week of {day(last)}" if last else ""
    pdf.cell(0, 5, _latin1(f"Forecast from {len(doc.observed.week)} weeks of tracked data{upto}. "
                           "Made by Chasm."))
    return bytes(pdf.output())


def _table(pdf: FPDF, headers: list[str], widths: list[float], rows: Iterable[list[str]],
           height: float) -> None:
    """A header row over its rows; `rows` may stop early (it is read lazily)."""
    pdf.set_font("Helvetica", "B", 9)
    for header, width in zip(headers, widths, strict=True):
        pdf.cell(width, height, _latin1(header), border="B")
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for cells in rows:
        for cell, width in zip(cells, widths, strict=True):
            pdf.cell(width, height, _latin1(cell))
        pdf.ln()


def _plans(pdf: FPDF, doc: ForecastDocument, currency: str) -> None:
    headers = ["Plan", f"Chance of {doc.target:.0%}", f"By {when(doc, doc.horizon_week)}", "Cost",
               "Downtime h saved"]
    _table(pdf, headers, [70, 30, 30, 30, pdf.epw - 160], (
        [plan.plan[:40], f"{plan.probability_of_target:.0%}", f"{plan.expected_at_horizon:.0%}",
         money(plan.cost or 0, currency), f"{plan.downtime_hours_saved or 0:,.0f}"]
        for plan in doc.plans[:8]), height=6)


def _facilities(pdf: FPDF, doc: ForecastDocument) -> None:
    """The facilities furthest from the target first, as many as fit above the footer."""
    if not doc.facilities:
        return
    pdf.ln(3)
    at = day(doc.facilities[0].week_start[-1])
    headers = ["Facility", "Now", f"Expected on {at}", "80% band", f"Chance of {doc.target:.0%}"]
    _table(pdf, headers, [60, 20, 45, 35, pdf.epw - 160], (
        [f.facility[:32], f"{f.now:.0%}", f"{f.p50[-1]:.0%}", f"{f.p10[-1]:.0%} to {f.p90[-1]:.0%}",
         f"{f.chance_of_target:.0%}"]
        for f in sorted(doc.facilities, key=lambda f: f.chance_of_target)
        if pdf.get_y() <= pdf.h - 22), height=5)

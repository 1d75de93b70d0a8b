"""Altair charts of the app: titled, with units and labelled axes, in the Okabe-Ito palette."""

from __future__ import annotations

from datetime import date, timedelta

import altair as alt
import pandas as pd

from app.services.documents import ForecastDocument
from app.services.tracker import OVERALL

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
BLUE, ORANGE, GREEN, PINK, SKY, VERMILION = OKABE_ITO[:6]
GREY = "#999999"
SHARE_AXIS = alt.Axis(format=".0%", title=None)
DATE_AXIS = alt.Axis(format="%b %Y", labelOverlap=True)
"""Every time axis: months with their years (a two-year history never reads as one)."""
DAY = "%d %b %Y"

Layered = alt.LayerChart | alt.FacetChart
"""What `+` and alt.layer return: altair turns layers that all share a facet encoding into a FacetChart
(none here do, so every layered chart below is a LayerChart at run time)."""


FRAME_EXTRA_PX = 140
"""Room for the title, subtitle, x axis and a bottom legend around a chart's plot."""


def frame_height(chart: alt.TopLevelMixin) -> int | str:
    """The pixel height to draw `chart` at so that its plot keeps its designed height.

    Streamlit's default (height="content") takes the spec's height as the whole frame and squeezes
    the title, axes and legend into it; faceted charts size themselves and keep "content".
    """
    height = getattr(chart, "height", alt.Undefined)
    return int(height) + FRAME_EXTRA_PX if isinstance(height, int | float) else "content"


def _share(field: str, title: str, domain: tuple[float, float] = (0, 1)) -> alt.Y:
    return alt.Y(field, title=title, axis=alt.Axis(format=".0%"), scale=alt.Scale(domain=list(domain)))


def target_rule(target: float, label: str = "Target") -> Layered:
    frame = pd.DataFrame({"target": [target], "label": [f"{label} {target:.0%}"]})
    rule: alt.Chart = alt.Chart(frame).mark_rule(color=VERMILION, strokeDash=[6, 4]).encode(y="target:Q")
    text: alt.Chart = alt.Chart(frame).mark_text(align="left", dx=4, dy=-6, color=VERMILION).encode(
        y="target:Q", x=alt.value(0), text="label:N")
    return rule + text


def trend_chart(trend: pd.DataFrame, target: float, scope: str,
                interventions: pd.DataFrame | None = None) -> Layered:
    """Breadth and depth of one scope week by week, against the target line, with the intervention log.

    `interventions`: week_start, facility (None: organisation-wide), label; a facility's trend shows
    its own and the organisation-wide ones, the overall trend all of them.
    """
    frame = trend[trend["scope"] == scope].melt(
        id_vars=["week_start"], value_vars=["breadth", "depth"], var_name="measure", value_name="share")
    frame["week_start"] = pd.to_datetime(frame["week_start"])
    frame["measure"] = frame["measure"].map({"breadth": "Active technicians (breadth)",
                                             "depth": "AI-assisted work orders (depth)"})
    lines: alt.Chart = alt.Chart(frame).mark_line(point=False, strokeWidth=2).encode(
        x=alt.X("week_start:T", title="Week", axis=DATE_AXIS),
        y=_share("share:Q", "Share (%)"),
        color=alt.Color("measure:N", title=None, scale=alt.Scale(range=[BLUE, ORANGE]),
                        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=400)),
        tooltip=[alt.Tooltip("week_start:T", title="Week of", format=DAY),
                 alt.Tooltip("measure:N", title="Of"), alt.Tooltip("share:Q", format=".0%", title="Share")])
    layers = lines + target_rule(target)
    if interventions is not None and not interventions.empty:
        mine = interventions if scope == OVERALL else interventions[
            interventions["facility"].isna() | (interventions["facility"] == scope)]
        shown = mine.assign(week_start=pd.to_datetime(mine["week_start"]))
        shown = shown[(shown["week_start"] >= frame["week_start"].min())
                      & (shown["week_start"] <= frame["week_start"].max())]
        if not shown.empty:
            marks: alt.Chart = alt.Chart(shown).mark_rule(color=GREEN, strokeDash=[3, 3]).encode(
                x="week_start:T", tooltip=[alt.Tooltip("week_start:T", title="Week of", format=DAY),
                                           alt.Tooltip("label:N", title="Intervention")])
            layers = layers + marks
    where = scope.lower() if scope.startswith("All") else scope
    marked = interventions is not None and not interventions.empty
    return layers.properties(
        title=alt.TitleParams(f"Breadth and depth of use, {where}", subtitle=(
            "Dashed green: interventions from the log (point at one for what it was)" if marked else "")),
        height=300)


def facility_bars(table: pd.DataFrame, target: float) -> Layered:
    """Latest active share per facility against the target line."""
    frame = table.assign(status=table["On target"].map({True: "On target", False: "Below target"}),
                         **{"Week of": pd.to_datetime(table["Week of"])})
    bars: alt.Chart = alt.Chart(frame).mark_bar().encode(
        y=alt.Y("Facility:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=200)),
        x=alt.X("Active share:Q", title="Active share of technicians (%)", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("status:N", title=None, scale=alt.Scale(domain=["On target", "Below target"],
                                                                 range=[GREEN, ORANGE]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=["Facility:N", alt.Tooltip("Active share:Q", format=".0%"),
                 alt.Tooltip("Change vs last week:Q", format="+.0%")])
    rule: alt.Chart = alt.Chart(pd.DataFrame({"t": [target]})).mark_rule(color=VERMILION, strokeDash=[6, 4]) \
        .encode(x="t:Q")
    return (bars + rule).properties(title=f"Active share by facility, latest week (target {target:.0%})",
                                    height=max(200, 22 * len(frame)))


def lifecycle_chart(lifecycle: pd.DataFrame) -> alt.Chart:
    order = ["new", "retained", "reactivated", "lapsed"]
    # Lapsed users are not users this week: drawn below zero so bar heights above it count users.
    signed = lifecycle["technicians"].where(lifecycle["status"] != "lapsed", -lifecycle["technicians"])
    lifecycle = lifecycle.assign(week_start=pd.to_datetime(lifecycle["week_start"]), bar=signed)
    bars: alt.Chart = alt.Chart(lifecycle).mark_bar().encode(
        x=alt.X("week_start:T", title="Week", axis=DATE_AXIS),
        y=alt.Y("bar:Q", title="Technicians"),
        color=alt.Color("status:N", title=None, sort=order,
                        scale=alt.Scale(domain=order, range=[SKY, BLUE, GREEN, VERMILION]),
                        legend=alt.Legend(orient="right")),
        order=alt.Order("status:N"),
        tooltip=[alt.Tooltip("week_start:T", title="Week of", format=DAY),
                 alt.Tooltip("status:N", title="Users"), alt.Tooltip("technicians:Q", title="Technicians")],
    )
    return bars.properties(title="Users each week: new, retained and reactivated; lapsed below zero",
                           height=320)


def _band_layers(frame: pd.DataFrame, color: str, x: str = "week") -> Layered:
    base = alt.Chart(frame).encode(x=alt.X(f"{x}:Q", title="Week since rollout start"))
    outer: alt.Chart = base.mark_area(opacity=0.18, color=color).encode(
        y=_share("p05:Q", "Active share of technicians (%)"), y2="p95:Q")
    inner: alt.Chart = base.mark_area(opacity=0.35, color=color).encode(y="p25:Q", y2="p75:Q")
    median: alt.Chart = base.mark_line(color=color, strokeWidth=2).encode(
        y="p50:Q", tooltip=[alt.Tooltip(f"{x}:Q", title="Week"),
                            alt.Tooltip("p50:Q", format=".0%", title="Median"),
                            alt.Tooltip("p05:Q", format=".0%", title="5th percentile"),
                            alt.Tooltip("p95:Q", format=".0%", title="95th percentile")])
    return outer + inner + median


def fan_chart(summary: pd.DataFrame, title: str, real: pd.DataFrame | None = None,
              target: float | None = None) -> Layered:
    """Median with the 50% and 90% bands of an ensemble; optional real points and target line."""
    chart = _band_layers(summary.reset_index(), BLUE)
    if real is not None and not real.empty:
        chart += alt.Chart(real).mark_point(color="#000000", filled=True, size=22).encode(
            x="week:Q", y="active_share:Q",
            tooltip=[alt.Tooltip("week:Q", title="Week"),
                     alt.Tooltip("active_share:Q", format=".0%", title="Real")])
    if target is not None:
        chart += target_rule(target)
    return chart.properties(title=alt.TitleParams(title, subtitle="Line: median; dark band: middle 50% "
                                                  "of runs; light band: 90% of runs"), height=320)


def small_multiples(long: pd.DataFrame, title: str, real: pd.DataFrame | None = None,
                    columns: int = 5) -> alt.FacetChart:
    """One small fan per facility (`long` has a `facility` column), sharing axes; optional real dots."""
    data = long.assign(kind="simulated")
    if real is not None and not real.empty:
        data = pd.concat([data, real[["facility", "week", "active_share"]].assign(kind="real")],
                         ignore_index=True)
    base = alt.Chart().encode(x=alt.X("week:Q", title="Week"))
    simulated = base.transform_filter(alt.datum.kind == "simulated")
    layers = [
        simulated.mark_area(opacity=0.18, color=BLUE).encode(y=_share("p05:Q", "Active share (%)"),
                                                             y2="p95:Q"),
        simulated.mark_area(opacity=0.35, color=BLUE).encode(y="p25:Q", y2="p75:Q"),
        simulated.mark_line(color=BLUE).encode(y="p50:Q"),
    ]
    if (data["kind"] == "real").any():
        layers.append(base.transform_filter(alt.datum.kind == "real").mark_point(
            color="#000000", filled=True, size=8).encode(y="active_share:Q"))
    return alt.layer(*layers, data=data).properties(width=150, height=110).facet(
        facet=alt.Facet("facility:N", title=None), columns=columns,
    ).properties(title=title)


def compare_chart(summaries: dict[str, pd.DataFrame], target: float | None = None) -> Layered:
    """Up to four scenarios' medians and 90% bands overlaid."""
    frames = [s.reset_index().assign(scenario=name) for name, s in summaries.items()]
    frame = pd.concat(frames, ignore_index=True)
    names = list(summaries)
    colour = alt.Color("scenario:N", title="Scenario", scale=alt.Scale(domain=names,
                                                                     range=list(OKABE_ITO[:len(names)])),
                       legend=alt.Legend(orient="bottom"))
    base = alt.Chart(frame).encode(x=alt.X("week:Q", title="Week since rollout start"), color=colour)
    band: alt.Chart = base.mark_area(opacity=0.15).encode(
        y=_share("p05:Q", "Active share of technicians (%)"), y2="p95:Q")
    line: alt.Chart = base.mark_line(strokeWidth=2).encode(
        y="p50:Q", tooltip=["scenario:N", "week:Q", alt.Tooltip("p50:Q", format=".0%", title="Median")])
    chart = band + line
    if target is not None:
        chart += target_rule(target)
    return chart.properties(title=alt.TitleParams("Scenarios compared", subtitle="Lines: medians; "
                                                  "bands: 90% of runs"), height=340)


def network_chart(nodes: pd.DataFrame, edges: pd.DataFrame, title: str) -> Layered:
    """A facility's network: technicians placed by a spring layout, coloured by state."""
    states = ["champion", "active", "lapsed", "never used", "not live"]
    links: alt.Chart = alt.Chart(edges).mark_rule(color=GREY, opacity=0.5).encode(
        x=alt.X("x:Q", axis=None), y=alt.Y("y:Q", axis=None), x2="x2:Q", y2="y2:Q")
    dots: alt.Chart = alt.Chart(nodes).mark_circle(size=140, opacity=1, stroke="white", strokeWidth=1).encode(
        x="x:Q", y="y:Q",
        color=alt.Color("state:N", title="Technician", sort=states,
                        scale=alt.Scale(domain=states, range=[VERMILION, BLUE, ORANGE, GREY, "#DDDDDD"]),
                        legend=alt.Legend(orient="right")),
        tooltip=["technician:N", "state:N", alt.Tooltip("trust:Q", format=".0%"), "degree:Q"])
    return (links + dots).properties(title=title, height=420)


def _dated(frame: pd.DataFrame, doc: ForecastDocument) -> pd.DataFrame:
    """The frame with a `date` column: the Monday that starts each rollout week."""
    first = doc.date_of(1)
    if first is None:
        return frame
    return frame.assign(date=pd.to_datetime([first + timedelta(weeks=int(w) - 1) for w in frame["week"]]))


def forecast_chart(doc: ForecastDocument) -> Layered:
    """Observed adoption, then each plan's 80% and 95% bands and median to the horizon, against dates
    (weeks since rollout start when the document has no calendar)."""
    observed = pd.DataFrame(doc.observed.model_dump(mode="json"))
    dated = bool(doc.observed.week_start)
    x, when = ("date:T", alt.Tooltip("date:T", title="Week of", format="%d %b %Y")) if dated else \
        ("week:Q", alt.Tooltip("week:Q", title="Week"))
    plans = doc.plans
    names = [p.plan for p in plans]
    colour = alt.Scale(domain=["Observed", *names], range=["#000000", *OKABE_ITO[:len(names)]])
    layers = [alt.Chart(_dated(observed, doc).assign(series="Observed")).mark_line(strokeWidth=2).encode(
        x=alt.X(x, title="Week" if dated else "Week since rollout start",
                axis=alt.Axis(format="%b %Y", labelOverlap=True) if dated else alt.Axis()),
        y=_share("active_share:Q", "Active share of technicians (%)"),
        color=alt.Color("series:N", scale=colour, title=None, legend=alt.Legend(orient="bottom")),
        tooltip=[when, alt.Tooltip("active_share:Q", format=".0%", title="Observed")])]
    for plan in plans:
        bands = _dated(pd.DataFrame(plan.bands.model_dump()), doc).assign(series=plan.plan)
        base = alt.Chart(bands).encode(x=x, color=alt.Color("series:N", scale=colour))
        layers += [base.mark_area(opacity=0.15).encode(y="p025:Q", y2="p975:Q"),
                   base.mark_area(opacity=0.3).encode(y="p10:Q", y2="p90:Q"),
                   base.mark_line(strokeWidth=2, strokeDash=[4, 2]).encode(
                       y="p50:Q", tooltip=[alt.Tooltip("series:N", title="Plan"), when,
                                           alt.Tooltip("p50:Q", format=".0%", title="Median")])]
    layers.append(target_rule(doc.target))
    return alt.layer(*layers).properties(
        title=alt.TitleParams("Adoption so far and forecast to the horizon",
                              subtitle="Bands: 80% and 95% of forecast runs; dashed: median"),
        height=360)


ROGERS = (("Innovators", -3.2, -2.0), ("Early adopters", -2.0, -1.0), ("Early majority", -1.0, 0.0),
          ("Late majority", 0.0, 1.0), ("Laggards", 1.0, 3.2))


def chasm_illustration(gap: float = 0.45) -> Layered:
    """Rogers' adoption curve split by category, with Moore's chasm between the pilot's volunteers
    (innovators, early adopters) and the majority. No data: the sign-in page's picture."""
    import numpy as np

    frames = []
    for name, lo, hi in ROGERS:
        z = np.linspace(lo, hi, 30)
        shift = gap if lo >= -1.0 else 0.0
        frames.append(pd.DataFrame({"x": z + shift, "density": np.exp(-0.5 * z**2), "group": name}))
    frame = pd.concat(frames, ignore_index=True)
    order = [name for name, _, _ in ROGERS]
    area: alt.Chart = alt.Chart(frame).mark_area(opacity=0.85, line={"color": "white"}).encode(
        x=alt.X("x:Q", axis=None),
        y=alt.Y("density:Q", axis=None, stack=None, scale=alt.Scale(domain=[0, 1.15])),
        color=alt.Color("group:N", sort=order, scale=alt.Scale(domain=order, range=list(OKABE_ITO[:5])),
                        legend=alt.Legend(orient="bottom", title=None, columns=5, labelLimit=200)))
    caption = pd.DataFrame({"x": [-1.0 + gap / 2], "y": [1.08], "text": ["the chasm"]})
    label: alt.Chart = alt.Chart(caption).mark_text(fontStyle="italic", color=GREY).encode(
        x="x:Q", y="y:Q", text="text:N")
    return (area + label).properties(height=150, title=alt.Title(
        "Pilots win the volunteers; rollouts must cross to the majority",
        subtitle="Rogers' adopter categories, with Moore's chasm after the early adopters"))


def front_chart(front: pd.DataFrame, currency: str = "€") -> Layered:
    """The optimiser's front: cost against chance of reaching the target by the deadline.

    `front`: columns cost, chance, and recommended (bool).
    """
    points: alt.Chart = alt.Chart(front).mark_line(point=alt.OverlayMarkDef(size=70), color=BLUE).encode(
        x=alt.X("cost:Q", title=f"Cost ({currency})", axis=alt.Axis(format=",.0f")),
        y=_share("chance:Q", "Chance of reaching the target by the deadline (%)"),
        tooltip=[alt.Tooltip("cost:Q", format=",.0f", title=f"Cost ({currency})"),
                 alt.Tooltip("chance:Q", format=".0%", title="Chance")])
    best: alt.Chart = alt.Chart(front[front["recommended"]]).mark_point(
        size=260, shape="diamond", filled=True, color=VERMILION).encode(x="cost:Q", y="chance:Q")
    return (points + best).properties(
        title=alt.TitleParams("What each budget buys", subtitle="Plans no cheaper plan beats on chance; "
                              "diamond: the recommended plan"), height=300)


def plan_fan(share: pd.DataFrame, calendar: pd.DataFrame, target: float) -> Layered:
    """A plan's forecast by date (mean and 80% band) with its calendar drawn on it.

    `share`: columns date, mean, p10, p90; `calendar`: columns date, what.
    """
    base = alt.Chart(share).encode(x=alt.X("date:T", title="Week", axis=DATE_AXIS))
    band: alt.Chart = base.mark_area(opacity=0.3, color=BLUE).encode(
        y=_share("p10:Q", "Active share of technicians (%)"), y2="p90:Q")
    mean: alt.Chart = base.mark_line(color=BLUE, strokeWidth=2).encode(
        y="mean:Q", tooltip=[alt.Tooltip("date:T", title="Week of", format=DAY),
                             alt.Tooltip("mean:Q", format=".0%", title="Expected")])
    rules: alt.Chart = alt.Chart(calendar).mark_rule(color=GREEN, strokeDash=[3, 3]).encode(
        x="date:T", tooltip=[alt.Tooltip("date:T", title="From", format=DAY),
                             alt.Tooltip("what:N", title="Intervention")])
    numbered = calendar.assign(n=[str(i) for i in range(1, len(calendar) + 1)])
    labels: alt.Chart = alt.Chart(numbered).mark_text(align="left", dx=3, dy=8, color=GREEN, fontSize=11,
                                                      fontWeight="bold").encode(
        x="date:T", y=alt.value(0), text="n:N", tooltip=[alt.Tooltip("what:N", title="Intervention")])
    return (band + mean + rules + labels + target_rule(target)).properties(
        title=alt.TitleParams("The recommended plan, week by week",
                              subtitle="Line: expected share; band: 8 runs in 10; dashed green: when each "
                                       "intervention starts (numbered as in the table)"), height=340)


def tornado(effects: pd.DataFrame) -> Layered:
    """Which interventions matter: each one's effect in points with its 90% interval, largest on top.

    `effects`: columns what, mean, p05, p95 (points).
    """
    order = effects.sort_values("mean", ascending=False)["what"].tolist()
    y = alt.Y("what:N", sort=order, title=None, axis=alt.Axis(labelLimit=360))
    bars: alt.Chart = alt.Chart(effects).mark_bar(color=BLUE, opacity=0.8).encode(
        x=alt.X("mean:Q", title="Effect on the share at the deadline (points)"), y=y,
        tooltip=[alt.Tooltip("what:N", title="Intervention"),
                 alt.Tooltip("mean:Q", format="+.1f", title="Mean (pts)"),
                 alt.Tooltip("p05:Q", format="+.1f", title="5% of worlds below (pts)"),
                 alt.Tooltip("p95:Q", format="+.1f", title="5% of worlds above (pts)")])
    whiskers: alt.Chart = alt.Chart(effects).mark_rule(color="#000000").encode(x="p05:Q", x2="p95:Q", y=y)
    return (bars + whiskers).properties(
        title=alt.TitleParams("Which levers matter", subtitle="Each intervention left out in turn, over "
                              "what we do not know about the technicians; whiskers: 90% of plausible worlds"),
        height=max(120, 40 * len(effects)))


def sim_fan_chart(summary: pd.DataFrame, title: str, *, first_monday: date | None = None,
                  target: float | None = None, height: int = 320) -> Layered:
    """The simulator's fan: against dates when week 1's Monday is known (today's organisation), else
    against weeks since rollout start (the example organisations). Title and subtitle wrap at ': ' and
    '; ' so that the chart fits half a small screen."""
    frame = summary.reset_index()
    if first_monday is None:
        x = alt.X("week:Q", title="Week since rollout start")
        when = [alt.Tooltip("week:Q", title="Week")]
    else:
        frame["date"] = pd.to_datetime([first_monday + timedelta(weeks=int(w) - 1) for w in frame["week"]])
        x = alt.X("date:T", title="Week", axis=alt.Axis(format="%b %Y", labelOverlap=True))
        when = [alt.Tooltip("date:T", title="Week of", format="%d %b %Y"),
                alt.Tooltip("week:Q", title="Rollout week")]
    base = alt.Chart(frame).encode(x=x)
    outer: alt.Chart = base.mark_area(opacity=0.18, color=BLUE).encode(
        y=_share("p05:Q", "Active share of technicians (%)"), y2="p95:Q")
    inner: alt.Chart = base.mark_area(opacity=0.35, color=BLUE).encode(y="p25:Q", y2="p75:Q")
    median: alt.Chart = base.mark_line(color=BLUE, strokeWidth=2).encode(
        y="p50:Q", tooltip=[*when, alt.Tooltip("p50:Q", format=".0%", title="Median"),
                            alt.Tooltip("p05:Q", format=".0%", title="5th percentile"),
                            alt.Tooltip("p95:Q", format=".0%", title="95th percentile")])
    chart = outer + inner + median
    if target is not None:
        chart += target_rule(target)
    head, _, tail = title.partition(": ")
    lines = [f"{head}:", tail] if tail else [title]
    return chart.properties(title=alt.TitleParams(
        lines, subtitle=["Line: median; dark band: middle 50% of runs;", "light band: 90% of runs"]),
        height=height)


def sensitivity_chart(effects: pd.DataFrame, title: str, subtitle: str, axis_title: str, *,
                      percent: bool = True) -> Layered:
    """An experiment's sensitivity: one bar per factor and measure, with its interval when known.

    `effects`: columns factor (words), measure (words), value, low, high (low/high NaN: no interval).
    """
    order = (effects.groupby("factor", sort=False)["value"].max().sort_values(ascending=False).index.tolist())
    measures = list(dict.fromkeys(effects["measure"]))
    fmt = ".0%" if percent else ".3g"
    y = alt.Y("factor:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    colour = alt.Color("measure:N", title=None, sort=measures,
                       scale=alt.Scale(domain=measures, range=list(OKABE_ITO[:len(measures)])),
                       legend=alt.Legend(orient="bottom", labelLimit=300))
    offset = alt.YOffset("measure:N", sort=measures)
    bars: alt.Chart = alt.Chart(effects).mark_bar(opacity=0.85).encode(
        x=alt.X("value:Q", title=axis_title, axis=alt.Axis(format=fmt)), y=y, yOffset=offset, color=colour,
        tooltip=[alt.Tooltip("factor:N", title="Factor"), alt.Tooltip("measure:N", title="Measure"),
                 alt.Tooltip("value:Q", format=fmt, title="Value"),
                 alt.Tooltip("low:Q", format=fmt, title="From (95%)"),
                 alt.Tooltip("high:Q", format=fmt, title="To (95%)")])
    whiskers: alt.Chart = alt.Chart(effects.dropna(subset=["low", "high"])).mark_rule(color="#000000").encode(
        x="low:Q", x2="high:Q", y=y, yOffset=offset)
    return (bars + whiskers).properties(title=alt.TitleParams(title, subtitle=subtitle),
                                        height=max(120, 30 * len(effects)))

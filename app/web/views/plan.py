"""Plan: the intervention menu, the optimiser's best plan within a budget and a deadline, adopting it."""

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from app.services import charts
from app.services.optimiser import (
    ensure_menu,
    has_calibration,
    menu,
    menu_file,
    optimise_store,
    plan_drivers,
)
from app.services.settings import get_settings
from app.services.words import day, money, points, share, week_date
from app.web import resources
from app.web.components.chart import show_chart
from app.web.components.text import plain
from model.optimise import OptimiseError, menu_from_dict
from model.scenario import ScenarioError, parse_toml

account = st.session_state["account"]
currency = get_settings().currency
st.title("Plan")
st.caption("What could we do next, and what is it worth? The optimiser tries plans from the menu on our "
           "organisation as it stands, across what we do not know about the technicians.")

metrics = resources.weekly_metrics()
if metrics.empty:
    st.info("No metrics are stored yet: upload them on the Upload page, then plan from here.")
    st.stop()
first = pd.to_datetime(metrics["week_start"]).min().date()
weeks = int(metrics["week_start"].nunique())
today_week = weeks + 1


def when(week: int) -> str:
    return day(week_date(week, first))


# ------------------------------------------------------------------------------------------ menu
ensure_menu()
st.subheader("The intervention menu")
items = menu()
st.dataframe(pd.DataFrame([{
    "Intervention": i.label,
    "Fixed cost": money(i.fixed_cost, currency),
    "Per technician": money(i.cost_per_technician, currency),
    "Per week in force": money(i.cost_per_week, currency),
    "Per unit of size": money(i.cost_per_unit, currency),
    "Size": ("fixed" if i.size is None or i.size_range is None
             else f"{i.size_range[0]:g} to {i.size_range[1]:g}"),
    "Earliest start": f"{i.lead_time} weeks from the decision" if i.lead_time else "right away",
} for i in items]), hide_index=True, width="stretch")
with st.expander("Edit the menu"):
    st.caption(f"The organisation's menu ({plain(menu_file().name)} in the data folder). Each item: a key, "
               "a label, what it changes, its costs, its size range and its lead time in weeks.")
    text = st.text_area("Menu", menu_file().read_text(encoding="utf-8"), height=320, key="plan_menu_text")
    if st.button("Save the menu"):
        try:
            menu_from_dict(parse_toml(text), "the menu")
        except (OptimiseError, ScenarioError) as error:
            st.error(f"Not saved: {plain(error)}.")
        else:
            menu_file().write_text(text, encoding="utf-8")
            st.success("Saved the menu.")

# ------------------------------------------------------------------------------------------ search
st.subheader("Find the best plan")
if not has_calibration(resources.engine()):
    st.info("The optimiser needs the model fitted to our data first (a minute or two).")
    if st.button("Fit the model to our data now", type="primary"):
        from app.services.calibration import calibrate_store

        with st.status("Fitting the model to the stored metrics...") as status:
            calibrate_store(resources.engine())
            status.update(label="Fitted.", state="complete")
        st.rerun()
    st.stop()

cols = st.columns(4)
budget = cols[0].number_input(f"Budget ({currency})", 0, 10_000_000, 30_000, step=5_000, key="plan_budget")
target = cols[1].slider("Target share of technicians", 10, 100, int(get_settings().target_share * 100),
                        step=5, format="%d%%", key="plan_target") / 100
deadline = cols[2].date_input("By", week_date(weeks + 26, first) or date.today() + timedelta(weeks=26),
                              min_value=week_date(weeks + 3, first), key="plan_deadline")
trials = cols[3].select_slider("Plans to try", [50, 100, 200, 400], value=100, key="plan_trials")
by = weeks + 1 + max(((deadline - (week_date(weeks + 1, first) or deadline)).days // 7), 2)

if st.button("Find the best plan", type="primary"):
    progress = st.progress(0.0, text="Starting...")
    cancel = st.empty()
    cancel.button("Cancel", key="plan_cancel", help="Stops the search; nothing is kept.")

    def tick(done: int, total: int, best: float) -> None:
        progress.progress(done / total, text=f"{done:,} of {total:,} plans tried; best so far {best:.0%}")

    try:
        result = optimise_store(resources.engine(), budget=float(budget), target=target, by=by,
                                trials=int(trials), progress=tick)
    except (OptimiseError, ScenarioError) as error:
        st.error(f"The search could not run: {plain(error)}.")
    else:
        with st.spinner("Reading which levers matter..."):
            drivers = plan_drivers(resources.engine(), result)
        st.session_state["plan_result"] = (result, drivers)
    progress.empty()
    cancel.empty()

found = st.session_state.get("plan_result")
if found is None:
    st.info("Set a budget, a target and a date, then press **Find the best plan**.")
    st.stop()
result, drivers = found
best, base = result.best, result.baseline
st.markdown(plain(
    f"Recommended: {share(best.probability)} chance of {share(result.request.target)} by "
    f"{when(result.request.by)}, for {money(best.cost, currency)}. Doing nothing more: "
    f"{share(base.probability)}."))
calendar = pd.DataFrame([{"date": week_date(c.week, first), "what": c.item.label} for c in best.choices],
                        columns=["date", "what"])
st.dataframe(pd.DataFrame([{"#": n, "From": when(c.week), "Intervention": c.item.label,
                            "Size": "" if c.size is None else f"{c.size:g}", "Cost": money(c.cost, currency)}
                           for n, c in enumerate(best.choices, start=1)]), hide_index=True, width="stretch")
start = result.request.by - best.share.shape[0] + 1
fan = pd.DataFrame({"date": [week_date(start + i, first) for i in range(best.share.shape[0])],
                    "mean": best.share.mean(axis=1), "p10": pd.DataFrame(best.share.T).quantile(0.1),
                    "p90": pd.DataFrame(best.share.T).quantile(0.9)})
left, right = st.columns(2)
with left:
    show_chart(charts.plan_fan(fan, calendar, result.request.target))
with right:
    show_chart(charts.front_chart(pd.DataFrame(
        [{"cost": p.cost, "chance": p.probability, "recommended": p is best} for p in result.front]
        + ([] if best in result.front else [{"cost": best.cost, "chance": best.probability,
                                             "recommended": True}])), currency))
effects = pd.DataFrame([{"what": e.label, **{k: v * 100 for k, v in e.stats().items() if k != "helps_share"}}
                        for e in drivers.effects])
if not effects.empty:
    show_chart(charts.tornado(effects))
    ranked = sorted(drivers.effects, key=lambda e: -e.stats()["mean"])[:2]
    st.caption(plain("Why: " + " and ".join(f"{e.label} ({points(e.stats()['mean'])})" for e in ranked)
                     + " matter most."))

st.subheader("Adopt as plan")
adopt_cols = st.columns([2, 3, 1])
name = adopt_cols[0].text_input("Plan name", f"Recommended plan ({day(date.today())})", key="plan_adopt_name")
description = adopt_cols[1].text_input(
    "What it does, in a sentence", key="plan_adopt_description",
    value=f"{share(best.probability)} chance of {share(result.request.target)} by {when(result.request.by)} "
          f"for {money(best.cost, currency)}")
if adopt_cols[2].button("Adopt as plan", type="primary", disabled=not name.strip() or not best.choices,
                  width="stretch"):
    from app.services.plans import PlanNameTaken, adopt_optimised

    try:
        adopted = adopt_optimised(resources.engine(), result, name=name.strip(),
                                  description=description.strip(), adopted_by=account.name)
    except (ScenarioError, PlanNameTaken, ValueError) as error:
        st.error(f"Not adopted: {plain(error)}.")
    else:
        st.success(plain(f"Adopted {adopted.plan.name!r}. The next forecast weighs it against the current "
                         "plan; leadership sees it on the Forecast page."))

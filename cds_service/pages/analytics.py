"""GET /analytics: what happens to the cards, as server-drawn SVG plots, each with a CSV of exactly its numbers.

From the records the service keeps (persistence/): cards issued per rule and indicator per day, feedback
(accepted / overridden) per rule, override reasons, suggestion acceptance, withheld cards, and the latency
percentiles of the hook calls per service (audit trail). The period is the last ``days`` UTC days, today included
(``?days=N``, 1-365, default 30). Feedback, reasons and suggestions are those of the cards *issued* in the period
(a cohort), so that a rate never divides feedback on old cards by the cards of the period.

No patient data is read or shown: the tables hold none, and neither hookInstance nor the free-text userComment is
selected. Queries are SQLAlchemy Core that run on SQLite and PostgreSQL; latency percentiles use PostgreSQL's
``percentile_cont`` and, elsewhere, the same linear interpolation between order statistics read with
``ORDER BY ... LIMIT/OFFSET`` (no latency list is loaded into memory).

Access: served with the pages (``CDS_PAGES``). With ``CDS_ANALYTICS_TOKEN`` set, the plots and the CSVs need
``Authorization: Bearer <token>``; the page is then a shell with a token form whose script (static/analytics.js)
keeps the token in sessionStorage and fetches the plots and CSVs with that header, never in a URL.
"""
from __future__ import annotations

import csv
import hmac
import io
import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from cards import registry
from flask import Response, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy import Date, and_, case, cast, distinct, func, literal_column, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from cds_service.errors import operation_outcome
from cds_service.pages import page_blueprint
from cds_service.pages import svg
from cds_service.persistence.audit import AUDIT_EVENT
from cds_service.persistence.store import FeedbackRow, IssuedCardRow, WithheldCardRow

bp = page_blueprint("analytics", __name__, nav=("/analytics", "Analytics"))

DEFAULT_DAYS = 30
MAX_DAYS = 365
PERCENTILES = (0.50, 0.95, 0.99)
ISSUED = IssuedCardRow.__table__
FEEDBACK = FeedbackRow.__table__
WITHHELD = WithheldCardRow.__table__
NO_REASON = "(no reason given)"


class BadPeriod(ValueError):
    """``?days=`` is not a whole number of days in 1..MAX_DAYS."""


@dataclass(frozen=True)
class Period:
    """The last ``days`` UTC calendar days up to ``today`` (inclusive)."""

    days: int
    today: date

    @property
    def since(self) -> datetime:
        return datetime.combine(self.today - timedelta(days=self.days - 1), time.min, tzinfo=timezone.utc)

    def day_labels(self, latest: str | None = None) -> list[str]:
        """ISO dates from the first day of the period to today (or to `latest`, a later day found in the data)."""
        first = self.today - timedelta(days=self.days - 1)
        last = max(self.today, date.fromisoformat(latest)) if latest else self.today
        return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


@dataclass(frozen=True)
class Chart:
    """One plot: its id (SVG id, data-testid and CSV name), the CSV columns and rows, and the SVG drawn from them."""

    id: str
    title: str
    description: str
    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    svg: Markup

    @property
    def filename(self) -> str:
        return f"{self.id}.csv"


@dataclass(frozen=True)
class Summary:
    cards_issued: int
    feedback: int
    withheld: int
    hook_calls: int


def parse_days(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_DAYS
    if not value.isdigit() or not 1 <= int(value) <= MAX_DAYS:
        raise BadPeriod(f"days must be a whole number from 1 to {MAX_DAYS}, got {value[:20]!r}")
    return int(value)


def rule_names(rule_ids_json: str) -> list[str]:
    """The rule ids of a stored card (``["rule-id@1.2.0", ...]``) without their versions."""
    return [r.split("@", 1)[0] for r in json.loads(rule_ids_json)]


def _day(column: Any, dialect: str) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, as SQL (no bound parameter, so GROUP BY repeats it verbatim)."""
    if dialect == "postgresql":
        return func.date(func.timezone(literal_column("'UTC'"), column))
    if dialect == "sqlite":
        return func.date(column)  # stored as UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'
    return cast(column, Date)


def interpolate(low: float, high: float, fraction: float) -> float:
    """Linear interpolation between two order statistics, as PostgreSQL's percentile_cont does."""
    return low + (high - low) * fraction


# ---------------------------------------------------------------------------------------------- the queries


def _issued_per_day(conn: Connection, period: Period) -> Counter[tuple[str, str, str]]:
    day = _day(ISSUED.c.issued_at, conn.dialect.name)
    stmt = (select(day, ISSUED.c.rule_ids, ISSUED.c.indicator, func.count())
            .where(ISSUED.c.issued_at >= period.since)
            .group_by(day, ISSUED.c.rule_ids, ISSUED.c.indicator))
    counts: Counter[tuple[str, str, str]] = Counter()
    for when, rule_ids, indicator, n in conn.execute(stmt):
        for rule in rule_names(rule_ids):
            counts[str(when)[:10], rule, indicator] += int(n)
    return counts


def _issued_per_rule(conn: Connection, period: Period) -> tuple[Counter[str], Counter[str]]:
    """(cards per rule, cards that offered a suggestion per rule) issued in the period."""
    offered = func.count(case((ISSUED.c.suggestion_uuids != "[]", 1)))
    stmt = (select(ISSUED.c.rule_ids, func.count(), offered).where(ISSUED.c.issued_at >= period.since)
            .group_by(ISSUED.c.rule_ids))
    cards: Counter[str] = Counter()
    with_suggestions: Counter[str] = Counter()
    for rule_ids, n, n_offered in conn.execute(stmt):
        for rule in rule_names(rule_ids):
            cards[rule] += int(n)
            with_suggestions[rule] += int(n_offered)
    return cards, with_suggestions


def _cohort() -> Any:
    """Issued cards joined to the feedback on them (same uuid, same service)."""
    return ISSUED.join(FEEDBACK, and_(FEEDBACK.c.card_uuid == ISSUED.c.uuid,
                                      FEEDBACK.c.service_id == ISSUED.c.service_id))


def _feedback_per_rule(conn: Connection, period: Period) -> dict[str, Counter[str]]:
    stmt = (select(ISSUED.c.rule_ids, FEEDBACK.c.outcome, func.count()).select_from(_cohort())
            .where(ISSUED.c.issued_at >= period.since).group_by(ISSUED.c.rule_ids, FEEDBACK.c.outcome))
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for rule_ids, outcome, n in conn.execute(stmt):
        for rule in rule_names(rule_ids):
            out[rule][outcome] += int(n)
    return out


def _suggestion_accepted_per_rule(conn: Connection, period: Period) -> Counter[str]:
    """Cards of the period on which a clinician accepted a suggestion the card offered."""
    stmt = (select(ISSUED.c.rule_ids, func.count(distinct(ISSUED.c.uuid))).select_from(_cohort())
            .where(ISSUED.c.issued_at >= period.since, FEEDBACK.c.outcome == "accepted",
                   FEEDBACK.c.suggestions_known.is_(True))
            .group_by(ISSUED.c.rule_ids))
    out: Counter[str] = Counter()
    for rule_ids, n in conn.execute(stmt):
        for rule in rule_names(rule_ids):
            out[rule] += int(n)
    return out


def _override_reasons(conn: Connection, period: Period) -> Counter[tuple[str, str, str, str]]:
    """(rule, reason system, code, display) -> overrides. The display is the coded reason's, never userComment."""
    keys = (FEEDBACK.c.override_system, FEEDBACK.c.override_code, FEEDBACK.c.override_display)
    stmt = (select(ISSUED.c.rule_ids, *keys, func.count()).select_from(_cohort())
            .where(ISSUED.c.issued_at >= period.since, FEEDBACK.c.outcome == "overridden")
            .group_by(ISSUED.c.rule_ids, *keys))
    out: Counter[tuple[str, str, str, str]] = Counter()
    for rule_ids, system, code, display, n in conn.execute(stmt):
        for rule in rule_names(rule_ids):
            out[rule, system or "", code or "", display or ""] += int(n)
    return out


def _withheld(conn: Connection, period: Period) -> Counter[tuple[str, str]]:
    stmt = (select(WITHHELD.c.rule_ids, WITHHELD.c.reason, func.count()).where(WITHHELD.c.withheld_at >= period.since)
            .group_by(WITHHELD.c.rule_ids, WITHHELD.c.reason))
    out: Counter[tuple[str, str]] = Counter()
    for rule_ids, reason, n in conn.execute(stmt):
        for rule in rule_names(rule_ids):
            out[rule, reason] += int(n)
    return out


def _latency(conn: Connection, period: Period) -> dict[str, tuple[int, tuple[float, ...]]]:
    """service id -> (calls, p50/p95/p99 latency in ms) of the hook calls in the period (errors included)."""
    a = AUDIT_EVENT.c
    services = [s.id for s in registry.services()]  # an unknown id in a 404's path is not a service
    where = (a.endpoint == "service", a.at >= period.since, a.service_id.in_(services))
    out: dict[str, tuple[int, tuple[float, ...]]] = {}
    if conn.dialect.name == "postgresql":
        stmt = (select(a.service_id, func.count(),
                       *[func.percentile_cont(p).within_group(a.latency_ms) for p in PERCENTILES])
                .where(*where).group_by(a.service_id))
        for service_id, n, *values in conn.execute(stmt):
            out[service_id] = (int(n), tuple(float(v) for v in values))
        return out
    counts = conn.execute(select(a.service_id, func.count()).where(*where).group_by(a.service_id)).all()
    for service_id, n in counts:
        values = []
        for p in PERCENTILES:
            position = p * (n - 1)
            low = math.floor(position)
            pair = conn.execute(select(a.latency_ms).where(*where, a.service_id == service_id)
                                .order_by(a.latency_ms).limit(2).offset(low)).scalars().all()
            values.append(interpolate(pair[0], pair[-1], position - low))
        out[service_id] = (int(n), tuple(values))
    return out


def _feedback_total(conn: Connection, period: Period) -> int:
    return int(conn.execute(select(func.count()).select_from(_cohort())
                            .where(ISSUED.c.issued_at >= period.since)).scalar_one())


# ---------------------------------------------------------------------------------------------- the charts


def _pct(part: int, whole: int) -> float | str:
    return round(100.0 * part / whole, 1) if whole else ""


def _issued_chart(per_day: Counter[tuple[str, str, str]], period: Period) -> Chart:
    latest = max((d for d, _, _ in per_day), default=None)
    days = period.day_labels(latest)
    index = {d: i for i, d in enumerate(days)}
    keys = sorted({(rule, indicator) for _, rule, indicator in per_day})
    rows: list[tuple[object, ...]] = []
    lines: list[svg.Line] = []
    for rule, indicator in keys:
        series = svg.Series(f"{rule}|{indicator}", f"{rule} ({indicator})")
        points = []
        for d in days:
            n = per_day.get((d, rule, indicator), 0)
            points.append(svg.Point(len(rows), index[d], n, f"{d}: {n} {rule} card{'s' * (n != 1)} ({indicator})"))
            rows.append((d, rule, indicator, n))
        lines.append(svg.Line(series, tuple(points)))
    title = "Cards issued per rule and indicator, per day"
    description = (f"Cards issued each UTC day of the last {period.days} days, one line per rule and indicator "
                   f"(a card built from two rules counts for each).")
    return Chart("issued-per-day", title, description, ("day", "rule", "indicator", "cards"), tuple(rows),
                 svg.line_chart("issued-per-day", title, description, days, lines, value_label="cards",
                                x_label="day (UTC)"))


def _feedback_chart(cards: Counter[str], feedback: dict[str, Counter[str]]) -> Chart:
    rows: list[tuple[object, ...]] = []
    groups: list[svg.BarGroup] = []
    for rule in sorted(cards):
        accepted, overridden = feedback.get(rule, Counter())["accepted"], feedback.get(rule, Counter())["overridden"]
        answered = accepted + overridden
        accepted_pct, overridden_pct = _pct(accepted, answered), _pct(overridden, answered)
        groups.append(svg.BarGroup(len(rows), rule, (float(accepted_pct or 0), float(overridden_pct or 0)), (
            f"{rule}: accepted {accepted} of {answered} feedback ({svg.percent(float(accepted_pct or 0))})"
            if answered else f"{rule}: no feedback on its {cards[rule]} cards",
            f"{rule}: overridden {overridden} of {answered} feedback ({svg.percent(float(overridden_pct or 0))})"
            if answered else f"{rule}: no feedback on its {cards[rule]} cards")))
        rows.append((rule, cards[rule], answered, accepted, overridden, accepted_pct, overridden_pct))
    title = "Accepted and overridden, per rule"
    description = ("Of the feedback on the cards issued in the period: the share accepted and the share overridden "
                   "(dismissed), per rule.")
    series = (svg.Series("accepted", "accepted (% of feedback)"),
              svg.Series("overridden", "overridden (% of feedback)"))
    return Chart("feedback-per-rule", title, description,
                 ("rule", "cards_issued", "feedback", "accepted", "overridden", "accepted_pct", "overridden_pct"),
                 tuple(rows), svg.bar_chart("feedback-per-rule", title, description, series, groups,
                                            value_label="% of feedback", top=100, tick_format=svg.percent))


def _reasons_chart(reasons: Counter[tuple[str, str, str, str]]) -> Chart:
    rows: list[tuple[object, ...]] = []
    groups: list[svg.BarGroup] = []
    for (rule, system, code, display), n in sorted(reasons.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1:])):
        shown = display or code or NO_REASON
        groups.append(svg.BarGroup(len(rows), f"{rule}: {shown}", (float(n),),
                                   (f"{rule}: overridden {n} time{'s' * (n != 1)}, reason {shown}"
                                    + (f" ({code})" if code and display else ""),)))
        rows.append((rule, system, code, display, n))
    title = "Override reasons, per rule"
    description = "How often each coded override reason was given when a card of the period was dismissed."
    return Chart("override-reasons", title, description,
                 ("rule", "reason_system", "reason_code", "reason_display", "overrides"), tuple(rows),
                 svg.bar_chart("override-reasons", title, description, (svg.Series("overrides", "overrides"),),
                               groups, value_label="overrides", empty="No card of this period was overridden."))


def _suggestions_chart(with_suggestions: Counter[str], accepted: Counter[str]) -> Chart:
    rows: list[tuple[object, ...]] = []
    groups: list[svg.BarGroup] = []
    for rule in sorted(r for r, n in with_suggestions.items() if n):
        offered, taken = with_suggestions[rule], accepted[rule]
        groups.append(svg.BarGroup(len(rows), rule, (float(offered), float(taken)), (
            f"{rule}: {offered} card{'s' * (offered != 1)} offered a suggestion",
            f"{rule}: a suggestion was accepted on {taken} of them ({svg.percent(float(_pct(taken, offered) or 0))})")))
        rows.append((rule, offered, taken, _pct(taken, offered)))
    title = "Suggestion acceptance, per rule"
    description = "Cards of the period that offered a suggestion, and those on which a clinician accepted one."
    series = (svg.Series("offered", "cards with a suggestion"), svg.Series("accepted", "suggestion accepted"))
    return Chart("suggestions-per-rule", title, description,
                 ("rule", "cards_with_suggestions", "cards_with_suggestion_accepted", "accepted_pct"), tuple(rows),
                 svg.bar_chart("suggestions-per-rule", title, description, series, groups, value_label="cards",
                               empty="No card of this period offered a suggestion."))


def _withheld_chart(withheld: Counter[tuple[str, str]]) -> Chart:
    rows: list[tuple[object, ...]] = []
    groups: list[svg.BarGroup] = []
    for (rule, reason), n in sorted(withheld.items()):
        groups.append(svg.BarGroup(len(rows), f"{rule}: {reason}", (float(n),),
                                   (f"{rule}: {n} card{'s' * (n != 1)} withheld ({reason})",)))
        rows.append((rule, reason, n))
    title = "Withheld cards, per rule"
    description = ("Possible-cause cards not shown because the chart recorded no leg symptoms "
                   "(CDS_POSSIBLE_CAUSE_CARDS), per rule and reason.")
    return Chart("withheld-per-rule", title, description, ("rule", "reason", "withheld"), tuple(rows),
                 svg.bar_chart("withheld-per-rule", title, description, (svg.Series("withheld", "withheld"),), groups,
                               value_label="cards withheld", empty="No card was withheld in this period."))


def _latency_chart(latency: dict[str, tuple[int, tuple[float, ...]]]) -> Chart:
    rows: list[tuple[object, ...]] = []
    groups: list[svg.BarGroup] = []
    names = tuple(f"p{round(p * 100)}" for p in PERCENTILES)
    for service_id in sorted(latency):
        calls, values = latency[service_id]
        shown = tuple(round(v, 2) for v in values)
        groups.append(svg.BarGroup(len(rows), service_id, shown, tuple(
            f"{service_id}: {name} {svg.number(v)} ms over {calls} call{'s' * (calls != 1)}"
            for name, v in zip(names, shown))))
        rows.append((service_id, calls, *shown))
    title = "Hook call latency percentiles, per service"
    description = ("Time from request to answer, recorded by the service for every call in the period "
                   "(errors included), as the 50th, 95th and 99th percentile in milliseconds.")
    series = tuple(svg.Series(n, f"{n} (ms)") for n in names)
    return Chart("latency-per-service", title, description, ("service", "calls", *(f"{n}_ms" for n in names)),
                 tuple(rows), svg.bar_chart("latency-per-service", title, description, series, groups,
                                            value_label="milliseconds", integer=False,
                                            empty="No hook call was recorded in this period."))


CHART_IDS = ("issued-per-day", "feedback-per-rule", "override-reasons", "suggestions-per-rule", "withheld-per-rule",
             "latency-per-service")


def build(engine: Engine, period: Period) -> tuple[Summary, list[Chart]]:
    """Every chart of the period, read in one transaction (a consistent snapshot on PostgreSQL)."""
    with engine.connect() as conn:
        per_day = _issued_per_day(conn, period)
        cards, with_suggestions = _issued_per_rule(conn, period)
        feedback = _feedback_per_rule(conn, period)
        accepted = _suggestion_accepted_per_rule(conn, period)
        reasons = _override_reasons(conn, period)
        withheld = _withheld(conn, period)
        latency = _latency(conn, period)
        feedback_total = _feedback_total(conn, period)
        cards_total = int(conn.execute(select(func.count()).select_from(ISSUED)
                                       .where(ISSUED.c.issued_at >= period.since)).scalar_one())
        withheld_total = int(conn.execute(select(func.count()).select_from(WITHHELD)
                                          .where(WITHHELD.c.withheld_at >= period.since)).scalar_one())
    summary = Summary(cards_issued=cards_total, feedback=feedback_total, withheld=withheld_total,
                      hook_calls=sum(n for n, _ in latency.values()))
    charts = [_issued_chart(per_day, period), _feedback_chart(cards, feedback), _reasons_chart(reasons),
              _suggestions_chart(with_suggestions, accepted), _withheld_chart(withheld), _latency_chart(latency)]
    return summary, charts


def to_csv(chart: Chart) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(chart.columns)
    writer.writerows(chart.rows)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- the routes


def _token() -> str | None:
    token: str | None = current_app.config.get("ANALYTICS_TOKEN")
    return token


def authorized() -> bool:
    """True without CDS_ANALYTICS_TOKEN, else only for ``Authorization: Bearer <it>`` (compared in constant time)."""
    token = _token()
    if token is None:
        return True
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), token.encode())


def _unauthorized() -> Response:
    response = operation_outcome(401, "login", "The analytics need 'Authorization: Bearer <CDS_ANALYTICS_TOKEN>'.")
    response.headers["WWW-Authenticate"] = 'Bearer realm="analytics"'
    return response


def _period() -> Period:
    now: datetime = current_app.config["CLOCK"]()
    return Period(parse_days(request.args.get("days")), now.astimezone(timezone.utc).date())


def _guarded(view: Callable[[Period], ResponseReturnValue], *, needs_token: bool = True
             ) -> Callable[[], ResponseReturnValue]:
    def run() -> ResponseReturnValue:
        if needs_token and not authorized():
            return _unauthorized()
        try:
            period = _period()
        except BadPeriod as err:
            return operation_outcome(400, "invalid", str(err))
        return view(period)
    return run


def _engine() -> Engine:
    engine: Engine = current_app.extensions["cds_store"].engine
    return engine


def _context(period: Period) -> dict[str, Any]:
    summary, charts = build(_engine(), period)
    return {"period": period, "summary": summary, "charts": charts,
            "csv_urls": {c.id: url_for("analytics.chart_csv", chart_id=c.id, days=period.days) for c in charts}}


def page(period: Period) -> ResponseReturnValue:
    """The page: the plots inline when no token is needed (or a valid one came with the request), else the form."""
    show = authorized()
    context = _context(period) if show else {"period": period}
    return render_template("analytics.html", token_required=_token() is not None, show_plots=show,
                           plots_url=url_for("analytics.plots", days=period.days), max_days=MAX_DAYS, **context)


def plots(period: Period) -> ResponseReturnValue:
    """The plots as an HTML fragment, for the page's script when a token is needed."""
    return render_template("analytics_plots.html", **_context(period))


def chart_csv(chart_id: str) -> ResponseReturnValue:
    if not authorized():
        return _unauthorized()
    if chart_id not in CHART_IDS:
        return operation_outcome(404, "not-found",
                                 f"No chart {chart_id[:60]!r}; the charts are {', '.join(CHART_IDS)}.")
    try:
        period = _period()
    except BadPeriod as err:
        return operation_outcome(400, "invalid", str(err))
    _, charts = build(_engine(), period)
    chart = next(c for c in charts if c.id == chart_id)
    return Response(to_csv(chart), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{chart_id}-last-{period.days}-days.csv"'})


bp.add_url_rule("/analytics", "page", _guarded(page, needs_token=False))
bp.add_url_rule("/analytics/plots", "plots", _guarded(plots))
bp.add_url_rule("/analytics/<chart_id>.csv", "chart_csv", chart_csv)


"""Realistic synthetic station data, written through the same store API the services use.

    simulate(store, config, responses=500, visits=3000, days=14, seed=1)

Visitors arrive in opening hours with lunch and evening peaks, cross the entrance lines,
some stand at the kiosk; most responses come from someone standing there (linked), the rest
have no presence evidence ('unknown': simulated history has no live camera behind it). Scores
depend on the visitor's age bracket so that post-stratification has something to correct.
Detractors open cases; most get resolved. About a third of detractors report a problem
([kiosk] complaints), most of them leaving a (made-up) name and phone number or e-mail; with
[kiosk] first_visit the shoppers say whether it is their first visit (returning ones a little
happier). People in the store per minute go to HQ as after a day of the camera's roll-ups.
"""
from __future__ import annotations

import dataclasses
import math
import random
import time
from datetime import datetime, timedelta

from station.store import AGE_BRACKETS, Complaint, Crossing, Presence, Response, Visit

AGE_MIX = [0.06, 0.20, 0.28, 0.20, 0.13, 0.08, 0.05]
# Mean "satisfaction" per bracket: younger shoppers are harsher critics in this fiction.
AGE_MOOD = [0.2, -0.6, -0.2, 0.2, 0.5, 0.7, 0.8]
HOUR_WEIGHT = {8: 2, 9: 3, 10: 4, 11: 6, 12: 9, 13: 7, 14: 4, 15: 4, 16: 5, 17: 7, 18: 10,
               19: 10, 20: 8, 21: 4}


def simulate(store, config, responses: int, visits: int = 0, days: float = 14,
             seed: int | None = None, now: float | None = None) -> dict:
    rng = random.Random(seed)
    now = now or time.time()
    kiosk_zone = config.vision.kiosk_zone or None
    entrances = [line.name for line in config.vision.lines if line.entrance] or ["entrance"]
    visits_made = _visitors(rng, max(visits, 0), days, now, config)
    kiosk_visits = [v for v in visits_made if kiosk_zone and kiosk_zone in v.dwell]

    with store.transaction():
        store.append_visits(visits_made)
        store.append_crossings(
            [Crossing(v.entered_at, rng.choice(entrances), "in", v.id) for v in visits_made] +
            [Crossing(v.left_at, rng.choice(entrances), "out", v.id) for v in visits_made])
        if kiosk_zone:
            store.update_presence([_kiosk_presence(v, kiosk_zone) for v in kiosk_visits])
    store.roll_up_traffic(now)
    occupancy_minutes = store.roll_up_occupancy(now, max_minutes=int(days * 1440) + 1) \
        if visits_made else 0
    pos_hours = _pos_hours(rng, visits_made, now)
    if pos_hours:
        store.import_pos(pos_hours, source="simulated-pos.csv")

    reasons = config.kiosk.reasons
    cases, made = [], 0
    while made < responses:
        with store.transaction():
            for _ in range(min(1000, responses - made)):
                if kiosk_visits and rng.random() < 0.85:
                    visit = rng.choice(kiosk_visits)
                    ts = visit.entered_at + visit.dwell[kiosk_zone] * 0.8
                    mood = AGE_MOOD[AGE_BRACKETS.index(visit.age_bracket)] \
                        if visit.age_bracket else 0.0
                else:
                    ts, mood = _opening_time(rng, days, now, config), 0.0
                response = _response(rng, ts, mood, reasons, config)
                case_id = store.append_response(response)
                if case_id:
                    cases.append((case_id, ts))
                made += 1
    resolved = 0
    for case_id, opened in cases:
        handling = rng.lognormvariate(math.log(1200), 0.9)       # median ~20 min
        if rng.random() < 0.75 and opened + handling < now:
            store.resolve_case(case_id, rng.choice(["Called the customer back", "Refund given",
                                                    "Spoke to the team"]), at=opened + handling)
            resolved += 1
    return {"responses": responses, "visits": len(visits_made), "cases": len(cases),
            "cases_resolved": resolved, "pos_hours": len(pos_hours),
            "complaints": store.complaint_totals(now - days * 86400 - 86400, now + 1)[
                "complaints"], "occupancy_minutes": occupancy_minutes}


def _pos_hours(rng, visits: list[Visit], now: float) -> list:
    """A till's hourly counts for the simulated visitors: about a quarter of them buy (some
    twice), in the hour they leave; the current hour is not exported yet."""
    from station.pos import PosHour
    per_hour: dict[float, list] = {}
    for v in visits:
        hour = v.left_at // 3600 * 3600
        if hour + 3600 > now:
            continue
        # the till exports every hour it was open, a quiet one with 0 receipts: an hour left
        # out would leave its entries out of conversion's denominator
        cell = per_hour.setdefault(hour, [0, None])
        if rng.random() < 0.27:
            receipts = 2 if rng.random() < 0.05 else 1
            cell[0] += receipts
            cell[1] = (cell[1] or 0.0) + round(
                receipts * rng.lognormvariate(math.log(250_000), 0.7), -3)
    return [PosHour(h, n, revenue) for h, (n, revenue) in sorted(per_hour.items())]


def _visitors(rng, count, days, now, config) -> list[Visit]:
    zones = [z.name for z in config.vision.zones]
    out = []
    for _ in range(count):
        entered = _opening_time(rng, days, now, config)
        stay = rng.lognormvariate(math.log(600), 0.6)             # median 10 min
        dwell = {z: round(min(stay, rng.expovariate(1 / 90)), 1)
                 for z in zones if rng.random() < 0.35}
        known = rng.random() < 0.8                                 # a face was seen
        out.append(Visit(
            entered_at=entered, left_at=min(entered + stay, now), dwell=dwell,
            age_bracket=rng.choices(AGE_BRACKETS, AGE_MIX)[0] if known else None,
            age_confidence=round(rng.uniform(0.4, 0.9), 2) if known else None,
            gender=rng.choice(["female", "male"]) if known else None,
            gender_confidence=round(rng.uniform(0.7, 0.99), 2) if known else None,
            views=rng.randint(1, 5) if known else 0))
        if known:        # the estimates behind the labels, derived so the random stream is unchanged
            v = out[-1]
            out[-1] = dataclasses.replace(
                v, p_female=v.gender_confidence if v.gender == "female" else 1 - v.gender_confidence,
                age_probs=_bracket_probs(v.age_bracket, v.age_confidence))
    return out


def _bracket_probs(bracket: str, confidence: float) -> tuple[float, ...]:
    """The bracket at `confidence`, the rest split between its neighbours."""
    i = AGE_BRACKETS.index(bracket)
    near = [j for j in (i - 1, i + 1) if 0 <= j < len(AGE_BRACKETS)]
    return tuple(round(confidence if j == i else (1 - confidence) / len(near) if j in near else 0.0, 4)
                 for j in range(len(AGE_BRACKETS)))


def _kiosk_presence(visit: Visit, zone: str) -> Presence:
    start = visit.entered_at + visit.dwell[zone] * 0.1
    return Presence(visit.id, zone, start, start + visit.dwell[zone])


def _opening_time(rng, days, now, config) -> float:
    """A random moment in opening hours in the last `days` days, local time."""
    tz = config.tz
    for _ in range(100):
        day = datetime.fromtimestamp(now - rng.uniform(0, days) * 86400, tz).date()
        hour = rng.choices(list(HOUR_WEIGHT), list(HOUR_WEIGHT.values()))[0]
        moment = datetime(day.year, day.month, day.day, hour, tzinfo=tz) + \
            timedelta(seconds=rng.uniform(0, 3600))
        if moment.timestamp() < now:
            return moment.timestamp()
    return now - rng.uniform(0, 3600)


NAMES = ("Lan", "Minh", "Hương", "Tuấn", "Mai", "Anna", "David", "Thảo")
PROBLEMS = ("Chờ thanh toán quá lâu", "Không có nhân viên hỗ trợ", "Hết hàng khuyến mãi",
            "The queue at the till was very long", "Wrong price on the shelf")


def _first_visit(rng, config) -> bool | None:
    """'Is this your first visit?': about 45 % come back, a tenth skip the question."""
    if not config.kiosk.first_visit or rng.random() < 0.1:
        return None
    return rng.random() >= 0.45


def _complaint(rng, ts) -> Complaint:
    name = rng.choice(NAMES) if rng.random() < 0.7 else None
    contact = (f"09{rng.randrange(10 ** 8):08d}" if rng.random() < 0.6 else
               f"{(name or 'khach').lower()}{rng.randrange(100)}@example.com") \
        if rng.random() < 0.75 else None
    return Complaint(problem=rng.choice(PROBLEMS) if rng.random() < 0.8 else None,
                     contact_name=name, contact=contact, ts=ts + rng.uniform(20, 90))


def _response(rng, ts, mood, reasons, config) -> Response:
    first_visit = _first_visit(rng, config)
    if first_visit is False:
        mood += 0.4                  # regulars like the store (that is why they come back)
    score = min(10, max(0, round(rng.gauss(7.6 + 1.8 * mood, 2.2))))
    group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    choices = [r.id for r in getattr(reasons, group)]
    picked = rng.sample(choices, k=min(len(choices), rng.choice([0, 1, 1, 2]))) if choices else []
    complete = rng.random() > 0.08
    csat = ces = None
    if complete and config.kiosk.csat:
        csat = min(5, max(1, round(1 + score * 0.4 + rng.gauss(0, 0.6))))
    if complete and config.kiosk.ces:
        ces = min(7, max(1, round(1.5 + score * 0.5 + rng.gauss(0, 0.9))))
    language = config.kiosk.default_language if rng.random() < 0.7 else \
        rng.choice(config.kiosk.languages)
    complaint = _complaint(rng, ts) if (group == "detractor" and config.kiosk.complaints
                                         and rng.random() < 0.35) else None
    return Response(nps=score, csat=csat, ces=ces, reasons=picked if complete else [],
                    language=language, complete=complete, ts=ts,
                    first_visit=first_visit if complete else None, complaint=complaint)

"""The dashboard's figures in the store manager's words, in one language. No Qt here.

    words = AdminWords(config, strings, "vi")
    words.nps(card)       # ('+7', 'Khoảng tin cậy 95%: +1 đến +14, dựa trên 620 câu trả lời',
                          #  'Ủng hộ 37% · Trung lập 33% · Không ủng hộ 30%')
    words.handling(card)  # 'Thời gian xử lý: một nửa xong trong 19 phút, 9 trên 10 xong ...'
    words.case(case)      # '07/12 03:29 · điểm 3\\nChờ quá lâu — “Chờ thanh toán gần 15 phút”'

Plain words, never 'n =', 'p90' or 'CI': a figure says what it rests on ('from 620
responses', counted by station.wording), an interval is the '95% interval', the handling time
is 'half within 19 min, 9 in 10 within 58 min'. Numbers are written the language's way
('18,7%' in Vietnamese); a count or a time never wraps inside, and each line keeps its last
two words together (kiosk/typeset.py), so a label wraps without a word alone.
"""
from __future__ import annotations

import html
from datetime import datetime

from kiosk.typeset import keep_together, unbroken
from station.store.queries import camera_health
from station.wording import number, quantity


class AdminWords:
    def __init__(self, config, strings, lang: str):
        self.config, self.strings, self.lang = config, strings, lang

    def get(self, key: str, **kw) -> str:
        return self.strings.get(self.lang, key, **kw)

    def count(self, n: float, noun: str) -> str:
        """'620 câu trả lời', kept on one line."""
        return unbroken(quantity(n, noun, self.lang))

    def number(self, value: float, decimals: int = 0) -> str:
        return number(value, self.lang, decimals)

    # -- the cards -------------------------------------------------------------------------
    def nps(self, card) -> tuple[str, str, str]:
        """(value, interval and what it rests on, group shares); below min n: '—', why, ''
        (the shares would give the NPS away)."""
        nps = card.nps
        if not nps.shown:
            why = (self.get("admin.nps.hidden", responses=self.count(nps.n, "responses"),
                            min_n=card.min_n) if nps.n else self.get("admin.nps.none"))
            return "—", keep_together(why), ""
        low, high = nps.interval
        # whole numbers, so a figure just under zero is '+0', never '-0'
        detail = self.get("admin.nps.ci", low=round(low), high=round(high),
                          responses=self.count(nps.n, "responses"))
        groups = self.get("admin.groups", p=card.promoter_share.value,
                          pa=card.passive_share.value, d=card.detractor_share.value)
        # each share wraps as one: 'Không ủng hộ 30%', not 'Không ủng' / 'hộ 30%'
        groups = " · ".join(unbroken(part) for part in groups.split(" · "))
        return self.get("admin.nps.value", nps=round(nps.value)), keep_together(detail), groups

    def answers(self, figure, key: str, min_n: int, decimals: int) -> str:
        """A follow-up question's figure (CSAT, CES) and its answers, or why there is none."""
        answers = self.count(figure.n or 0, "answers")
        if figure.shown:
            text = self.get(key, value=self.number(figure.value, decimals), answers=answers)
        elif figure.n:
            text = self.get("admin.hidden", answers=answers, min_n=min_n)
        else:
            text = self.get("admin.none")
        return keep_together(text)

    def participation(self, card, entries: int, counter=None) -> str:
        """The rate and its counts; with the hand-count correction applied, a line saying so."""
        if not card.participation_rate.shown:
            return keep_together(self.get("admin.participation.nocamera"))
        text = self.get(
            "admin.participation.value", value=self.number(card.participation_rate.value, 1),
            responses=self.count(card.responses, "responses"),
            entries=self.count(entries, "entries"))
        if counter is not None and counter.applied:
            text += "\n" + counter.label(self.lang)
        return keep_together(text)

    def partial(self, totals: dict) -> str:
        return keep_together(self.get(
            "admin.partial", partial=self.number(totals["responses"] - totals["complete"]),
            no_presence=self.number(totals["no_presence"])))

    def complaints(self, card, open_cases: int) -> str:
        """Complaints lodged (the shopper's act), per response and per entry, and the
        detractor cases still open."""
        cases = self.count(open_cases, "cases")
        complaints = self.count(card.complaints, "complaints")
        if card.complaint_rate.shown:
            text = self.get("admin.complaints.value", complaints=complaints,
                            rate=self.number(card.complaint_rate.value, 1), open=cases)
        else:
            text = self.get("admin.complaints.hidden", complaints=complaints, open=cases,
                            min_n=card.min_n)
        if card.complaint_rate_per_entry.shown:
            text += "\n" + self.get("admin.complaints.entries", rate=self.number(
                card.complaint_rate_per_entry.value, 2))
        return keep_together(text)

    def complaint_handling(self, card) -> str:
        """From the complaint to its case's resolution: half within, 9 in 10 within."""
        median, p90 = card.complaint_handling_median_s, card.complaint_handling_p90_s
        if not median.shown:
            return keep_together(self.get("admin.complaint_handling.none"))
        return keep_together(self.get("admin.complaint_handling",
                                      median=self.duration(median.value),
                                      p90=self.duration(p90.value)))

    def returning(self, card) -> str:
        """The returning share with its interval, and NPS of first-visit and returning
        shoppers; nothing where nobody answered the first-visit question."""
        share = card.returning_share
        if not card.first_visit_answers:
            return ""
        answers = self.count(card.first_visit_answers, "answers")
        if share.shown:
            low, high = share.interval
            text = self.get("admin.returning.value", value=self.number(share.value),
                            low=self.number(low), high=self.number(high), answers=answers)
        else:
            text = self.get("admin.returning.hidden", min_n=card.min_n, answers=answers)
        nps = {key: f"{round(f.value):+d}" if f.shown else "—"
               for key, f in (("new", card.nps_new), ("returning", card.nps_returning))}
        return keep_together(text + "\n" + self.get("admin.nps_by_visit", **nps))

    def conversion(self, conversion: dict) -> str:
        """Conversion from the POS file where there is one, else from the checkout zone, with
        its source named; nothing where the station has neither."""
        figure = conversion.get("pos") or conversion.get("camera")
        if figure is None:
            return ""
        if figure["rate"] is None:
            return keep_together(self.get("admin.conversion.none", reason=figure["reason"]))
        buyers = figure["transactions"] if figure["source"] == "pos" \
            else figure["visits_at_checkout"]
        return keep_together(self.get(
            "admin.conversion.value", value=self.number(figure["rate"], 1),
            buyers=self.number(buyers), entries=self.count(figure["entries"], "entries"),
            source=self.get(f"admin.source.{figure['source']}")))

    def occupancy(self, occupancy: dict | None) -> str:
        if occupancy is None:
            return ""
        people = self.count(occupancy["people"], "visitors")
        if occupancy["peak_at"] is None:
            return keep_together(self.get("admin.occupancy.nopeak", people=people))
        time_ = datetime.fromtimestamp(occupancy["peak_at"], self.config.tz).strftime("%H:%M")
        return keep_together(self.get("admin.occupancy.value", people=people,
                                      peak=self.number(occupancy["peak"]), time=time_))

    def handling(self, card) -> str:
        """Half the cases resolved within the median, 9 in 10 within the 90th percentile."""
        median, p90 = card.handling_median_s, card.handling_p90_s
        if not median.shown:
            return keep_together(self.get("admin.handling.none"))
        return keep_together(self.get("admin.handling", median=self.duration(median.value),
                                      p90=self.duration(p90.value)))

    # -- people, cases, health -------------------------------------------------------------
    def people(self, figures) -> tuple[str, str]:
        """The women's share and the age mix with their 95 % intervals (corrected for the
        camera's measured errors; nothing below the privacy floor), then each age bracket's
        NPS and number of answers, as HTML tables; and the note under them."""
        f, k = figures, self.config.privacy.k_floor
        ages = sorted({a or "?" for a in f.nps_by_age}) or ["?"]
        below_k = html.escape(self.get("admin.demographics.suppressed", k=k))

        def row(name: str, cells: list[str]) -> str:
            return (f"<tr><td>{html.escape(name)}</td>" +
                    "".join(f"<td align='right'>&nbsp;&nbsp;{c}</td>" for c in cells) + "</tr>")

        shares = self.shares(f.demographics)
        rows = ["<tr><th></th>" + "".join(f"<th align='right'>&nbsp;&nbsp;{a}</th>"
                                         for a in ages) + "</tr>"]
        scores = [f.nps_by_age.get("" if a == "?" else a) for a in ages]
        rows.append(row(self.get("admin.nps_by_age.row"),
                        [f"<b>{round(r.value):+d}</b>" if r and r.shown else "–" for r in scores]))
        answers = [r.n if r else 0 for r in scores]
        rows.append(row(self.get("admin.nps_by_age.answers"),
                        [str(n) if n == 0 or n >= k else below_k for n in answers]))
        note = (self.get("admin.demographics.note", n=f.demographics["n"], k=k) + "\n" +
                self.get("admin.nps_by_age.note", min_n=self.config.privacy.min_n))
        return shares + "<table>" + "".join(rows) + "</table>", keep_together(note)

    def shares(self, d: dict) -> str:
        """Women's share and the age groups, each with its 95 % interval, as an HTML table; or
        one line saying why there are none."""
        if "reason" in d:
            why = self.get("admin.shares." + d["reason"], n=d["n"], k=d.get("k_floor", 0))
            return f"<p>{html.escape(why)}</p>"
        rows = [f"<tr><th></th><th align='right'>&nbsp;&nbsp;{html.escape(self.get('admin.shares.share'))}</th>"
                f"<th align='right'>&nbsp;&nbsp;{html.escape(self.get('admin.shares.interval'))}</th></tr>"]
        named = [(self.get("admin.gender.female"), next(s for s in d["gender"] if s["name"] == "female"))]
        named += [(self.get("admin.shares.age", group=s["name"]), s) for s in d["age"]]
        for name, s in named:
            rows.append(f"<tr><td>{html.escape(name)}</td>"
                        f"<td align='right'>&nbsp;&nbsp;<b>{s['estimate'] * 100:.0f} %</b></td>"
                        f"<td align='right'>&nbsp;&nbsp;{s['low'] * 100:.0f}–{s['high'] * 100:.0f} %</td></tr>")
        return "<table>" + "".join(rows) + "</table><br>"

    def case(self, case) -> str:
        """A case row: when and the score, then the reasons and the comment."""
        names = {r.id: getattr(r, self.lang) for r in self.config.kiosk.reasons.detractor}
        when = datetime.fromtimestamp(case.opened_at, self.config.tz).strftime("%d/%m %H:%M")
        reasons = ", ".join(names.get(r, r) for r in case.reasons)
        if case.comment:
            reasons = f"{reasons} — “{case.comment}”" if reasons else f"“{case.comment}”"
        text = self.get("admin.cases.item", time=when, nps=case.nps, reasons=reasons or "—")
        complaint = getattr(case, "complaint", None)
        if complaint:                 # the manager's own list: the contact details are here
            text += "\n" + self.get("admin.cases.complaint",
                                    problem=f"“{complaint['problem']}”"
                                    if complaint["problem"] else "—")
            contact = ", ".join(c for c in (complaint["contact_name"], complaint["contact"]) if c)
            if contact:
                text += "\n" + self.get("admin.cases.contact", contact=contact)
        return keep_together(text)

    def health(self, figures, now: float) -> str:
        """The camera, the sync to HQ, the disk and the settings from HQ, a line each."""
        f, lines = figures, []
        cameras = [c.id for c in self.config.vision.cameras] or ["main"]
        for camera in cameras:          # a line per camera, named when there are several
            vision = camera_health(f.health).get(camera)
            if vision and isinstance(vision.get("last_frame"), (int, float)):
                line = self.get("admin.health.camera", fps=self.number(vision.get("fps") or 0, 1),
                                ago=self.ago(now - vision["last_frame"]))
            else:
                line = self.get("admin.health.camera.none")
            lines.append(line.replace(":", f" {camera}:", 1) if len(cameras) > 1 else line)
        out = f.outbox
        events = self.count(out["pending"], "events")
        if out.get("last_acked_at"):
            lines.append(self.get("admin.health.sync", events=events,
                                  ago=self.ago(now - out["last_acked_at"])))
        else:
            lines.append(self.get("admin.health.sync.never", events=events))
        if f.disk_free_bytes is not None:
            lines.append(self.get("admin.health.disk",
                                  gb=self.number(f.disk_free_bytes / 1e9, 1)))
        pushed = f.health.get("settings") or {}     # station/remote_settings.py
        if pushed.get("version") is not None:
            lines.append(self.get("admin.health.settings", version=pushed["version"],
                                  ago=self.ago(now - pushed["applied_at"])))
        if pushed.get("rejected"):
            r = pushed["rejected"]
            lines.append(self.get("admin.health.settings.refused",
                                  version=r.get("version") or "?", setting=r.get("key"),
                                  reason=str(r.get("reason"))[:120]))
        return keep_together("\n".join(lines))

    # -- times -----------------------------------------------------------------------------
    def ago(self, seconds: float) -> str:
        """'18 s ago', '2 days ago', kept on one line."""
        s = max(0, int(seconds))
        if s >= 86400:
            return unbroken(self.get("admin.ago.d", days=self.count(s // 86400, "days")))
        for key, unit in (("h", 3600), ("min", 60)):
            if s >= unit:
                return unbroken(self.get(f"admin.ago.{key}", n=s // unit))
        return unbroken(self.get("admin.ago.s", n=s))

    def duration(self, seconds: float) -> str:
        """'19 min', '1,5 giờ', kept on one line."""
        if seconds < 3600:
            return unbroken(self.get("admin.duration.min", n=self.number(seconds / 60)))
        return unbroken(self.get("admin.duration.h", n=self.number(seconds / 3600, 1)))

"""The dashboard's words in English and Vietnamese: every label a manager reads.

    say = words("vi")
    say("stores")          # 'Cửa hàng'

A key missing here is an error, not a guess (as in station/wording.py): add it to WORDS.
"""
from __future__ import annotations

LANGUAGES = ("en", "vi")

WORDS = {
    # navigation and login
    "title": ("CX Station HQ", "CX Station HQ"),
    "stores": ("Stores", "Cửa hàng"),
    "chain": ("Chain", "Chuỗi"),
    "push": ("Push settings", "Gửi cài đặt"),
    "login": ("Log in", "Đăng nhập"),
    "logout": ("Log out", "Đăng xuất"),
    "username": ("Username", "Tên đăng nhập"),
    "password": ("Password", "Mật khẩu"),
    "bad_login": ("Wrong username or password.", "Sai tên đăng nhập hoặc mật khẩu."),
    "locked": ("Too many failed attempts: try again in {minutes} min.",
               "Sai quá nhiều lần: thử lại sau {minutes} phút."),
    "analyst": ("analyst", "phân tích"),
    "admin": ("admin", "quản trị"),
    "forbidden": ("You may not do this.", "Bạn không có quyền làm việc này."),
    "not_found": ("Not found.", "Không tìm thấy."),
    # the stores table
    "store": ("Store", "Cửa hàng"),
    "status": ("Status", "Trạng thái"),
    "online": ("online", "trực tuyến"),
    "offline": ("offline", "ngoại tuyến"),
    "unknown": ("unknown", "không rõ"),
    "last_event": ("Last event", "Sự kiện cuối"),
    "nps": ("NPS", "NPS"),
    "ci95": ("95 % interval", "Khoảng tin cậy 95 %"),
    "target": ("Target", "Mục tiêu"),
    "responses": ("Responses", "Câu trả lời"),
    "participation": ("Participation", "Tỷ lệ tham gia"),
    "entries": ("Entries", "Lượt vào"),
    "conversion": ("Conversion", "Tỷ lệ chuyển đổi"),
    "open_cases": ("Open cases", "Trường hợp mở"),
    "alerts": ("Alerts", "Cảnh báo"),
    "backlog": ("Backlog", "Tồn đọng"),
    "health": ("Health", "Tình trạng"),
    "ok": ("ok", "tốt"),
    "missing": ("{n} missing", "thiếu {n}"),
    "dead": ("{n} unreadable", "{n} không đọc được"),
    "filter": ("Filter stores", "Lọc cửa hàng"),
    "show": ("Show", "Hiện"),
    "all": ("all", "tất cả"),
    "only_offline": ("offline only", "chỉ ngoại tuyến"),
    "only_below": ("below target", "dưới mục tiêu"),
    "only_alerts": ("with alerts", "có cảnh báo"),
    "period": ("Last {days} days, up to {until}", "{days} ngày qua, đến {until}"),
    "updated": ("Updated", "Cập nhật"),
    "live": ("live", "trực tiếp"),
    "stale": ("not updating", "không cập nhật"),
    "sort_hint": ("Click a column heading to sort.", "Bấm tiêu đề cột để sắp xếp."),
    "dash_note": ("— : no data to compute it from; a hidden NPS has too few answers (hover for "
                  "why).",
                  "— : chưa có dữ liệu; NPS bị ẩn khi quá ít câu trả lời (di chuột để xem lý do)."),
    "hidden": ("hidden", "ẩn"),
    # status against a target (the station's words)
    "on_target": ("on target", "đạt mục tiêu"),
    "below_target": ("below target", "dưới mục tiêu"),
    "not_distinguishable": ("not distinguishable", "chưa phân biệt được"),
    "too_few_answers": ("too few answers", "quá ít câu trả lời"),
    "no_target": ("no target", "chưa có mục tiêu"),
    # the chain page
    "league": ("KPI league table", "Bảng xếp hạng KPI"),
    "rank": ("#", "#"),
    "csat": ("CSAT", "CSAT"),
    "ces": ("CES", "CES"),
    "complaint_rate": ("Complaint rate", "Tỷ lệ khiếu nại"),
    "handling_median_s": ("Handling time (median)", "Thời gian xử lý (trung vị)"),
    "participation_rate": ("Participation", "Tỷ lệ tham gia"),
    "below_with_confidence": ("Below target with confidence",
                              "Dưới mục tiêu (chắc chắn)"),
    "below_note": ("The whole 95 % interval misses the target: not chance.",
                   "Cả khoảng tin cậy 95 % đều không đạt mục tiêu: không phải ngẫu nhiên."),
    "none_below": ("No store is below a target with confidence.",
                   "Không có cửa hàng nào chắc chắn dưới mục tiêu."),
    "kpi": ("KPI", "KPI"),
    "figure": ("Figure", "Số liệu"),
    "stations_online": ("Stations online", "Trạm trực tuyến"),
    "nps_by_store": ("NPS by store (dot) with its 95 % interval (bar)",
                     "NPS theo cửa hàng (chấm) và khoảng tin cậy 95 % (thanh)"),
    # the store page
    "per_day": ("Per day", "Theo ngày"),
    "per_week": ("Per week", "Theo tuần"),
    "day": ("Day", "Ngày"),
    "week": ("Week", "Tuần"),
    "nps_trend": ("NPS with its 95 % interval", "NPS và khoảng tin cậy 95 %"),
    "cases": ("Open cases", "Trường hợp đang mở"),
    "case": ("Case", "Trường hợp"),
    "opened": ("Opened", "Mở lúc"),
    "age": ("Age", "Đã mở"),
    "score": ("Score", "Điểm"),
    "station": ("Station", "Trạm"),
    "stations": ("Stations", "Các trạm"),
    "last_seen": ("Last heard", "Lần cuối liên lạc"),
    "camera_fps": ("Camera fps", "Camera (khung/giây)"),
    "version": ("Software", "Phần mềm"),
    "settings": ("HQ settings", "Cài đặt từ HQ"),
    "settings_applied": ("applied v{version}", "đã áp dụng v{version}"),
    "settings_pending": ("pushed v{version}, not applied yet",
                         "đã gửi v{version}, chưa áp dụng"),
    "settings_refused": ("refused v{version}: {setting}: {reason}",
                         "từ chối v{version}: {setting}: {reason}"),
    "targets": ("Targets", "Mục tiêu"),
    "set_by": ("Set by", "Đặt bởi"),
    "severity": ("Severity", "Mức độ"),
    "kind": ("Kind", "Loại"),
    "subject": ("Subject", "Nội dung"),
    "state": ("State", "Trạng thái"),
    "count": ("Count", "Số lần"),
    "critical": ("critical", "nghiêm trọng"),
    "warning": ("warning", "cảnh báo"),
    "info": ("info", "thông tin"),
    "open": ("open", "đang mở"),
    "acknowledged": ("acknowledged", "đã ghi nhận"),
    "higher": ("higher is better", "càng cao càng tốt"),
    "lower": ("lower is better", "càng thấp càng tốt"),
    "per_week_target": ("per week", "mỗi tuần"),
    "per_month_target": ("per month", "mỗi tháng"),
    "no_cases": ("No open cases.", "Không có trường hợp mở."),
    "no_alerts": ("No unresolved alerts.", "Không có cảnh báo chưa xử lý."),
    "no_targets": ("No targets set.", "Chưa đặt mục tiêu."),
    "more_cases": ("and {n} more", "và {n} trường hợp khác"),
    # pushing settings
    "scope": ("Send to", "Gửi đến"),
    "scope_station": ("one station", "một trạm"),
    "scope_store": ("one store (all its stations)", "một cửa hàng (mọi trạm)"),
    "scope_chain": ("the whole chain", "toàn chuỗi"),
    "which": ("Station or store id", "Mã trạm hoặc cửa hàng"),
    "settings_toml": ("Settings (TOML)", "Cài đặt (TOML)"),
    "or_file": ("or a file", "hoặc một tệp"),
    "send": ("Push", "Gửi"),
    "pushed": ("Version {version} published to {n} stations.",
               "Đã gửi phiên bản {version} đến {n} trạm."),
    "push_refused": ("Not published:", "Chưa gửi:"),
    "push_note": ("Stations validate the settings with their own rules and report the applied "
                  "version, or the refusal with the key, on their store page.",
                  "Trạm kiểm tra cài đặt theo quy tắc của mình và báo phiên bản đã áp dụng, hoặc "
                  "lý do từ chối kèm khóa, trên trang cửa hàng."),
    "need_which": ("Name the station or store to send to.", "Hãy ghi mã trạm hoặc cửa hàng."),
    "need_settings": ("Paste the settings or choose a file.", "Hãy dán cài đặt hoặc chọn tệp."),
    "not_utf8": ("The file is not UTF-8 text.", "Tệp không phải văn bản UTF-8."),
}


def say_known(say, word: str) -> str:
    """A word from the data (a severity, a state) in the reader's language where WORDS has it;
    as it is otherwise (a newer station may send kinds this HQ does not know)."""
    return say(word) if word in WORDS else word


def words(lang: str):
    """say(key, **values) in `lang` (English for any language not in LANGUAGES)."""
    index = LANGUAGES.index(lang) if lang in LANGUAGES else 0

    def say(key: str, **values) -> str:
        try:
            text = WORDS[key][index]
        except KeyError:
            raise KeyError(f"no wording for {key!r}: add it to hq/web/words.WORDS") from None
        return text.format(**values) if values else text
    return say

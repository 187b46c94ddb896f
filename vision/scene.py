"""Counting lines and zones from a scene JSON file (``cx-vision analyze --scene``) or the config.

    lines, zones = load_scene("vision/scenes/pets2009.json")

The file holds ``{"lines": [{"name", "a": [x, y], "b": [x, y]}], "zones": [{"name",
"polygon": [[x, y], ...]}]}`` in pixels of the video. Line direction: see ``vision.lines``.
"""
from __future__ import annotations

import json
from pathlib import Path

from vision.lines import LineCounter
from vision.zones import Zone


class SceneError(ValueError):
    pass


def load_scene(path) -> tuple[list[LineCounter], list[Zone]]:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SceneError(f"scene file {path} does not exist") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SceneError(f"scene file {path} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise SceneError(f"{path}: the scene must be a JSON object with 'lines' and 'zones'")
    unknown = set(raw) - {"lines", "zones", "source"}
    if unknown:
        raise SceneError(f"{path}: unknown key(s) {sorted(unknown)}; allowed: lines, zones, source")
    return scene_from_items(raw.get("lines", []), raw.get("zones", []), where=str(path))


def scene_from_items(lines, zones, where: str = "scene") -> tuple[list[LineCounter], list[Zone]]:
    """Build counters from dicts or objects with name/a/b and name/polygon (config sections)."""
    out_lines, out_zones = [], []
    for i, item in enumerate(lines):
        try:
            name, a, b = _get(item, "name"), _get(item, "a"), _get(item, "b")
            out_lines.append(LineCounter(str(name), a, b))
        except (KeyError, TypeError, ValueError) as exc:
            raise SceneError(f"{where}: lines[{i}]: {exc}") from None
    for i, item in enumerate(zones):
        try:
            out_zones.append(Zone(str(_get(item, "name")), _get(item, "polygon")))
        except (KeyError, TypeError, ValueError) as exc:
            raise SceneError(f"{where}: zones[{i}]: {exc}") from None
    names = [x.name for x in out_lines] + [z.name for z in out_zones]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SceneError(f"{where}: duplicate names {dupes}")
    return out_lines, out_zones


def _get(item, key):
    if isinstance(item, dict):
        if key not in item:
            raise KeyError(f"missing {key!r}")
        return item[key]
    return getattr(item, key)

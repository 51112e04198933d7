"""Lighting presets (SPEC §7.1 ``lighting``): each light of a preset as a role placed relative to the subject.

Placement: ``azimuth_deg`` is measured about the vertical from the *reference direction* — subject → camera,
horizontal (the camera the shot is seen through), or the subject's facing when there is no camera — positive
towards the camera's left (the subject's right); ``key_side: right`` mirrors the preset. ``elevation_deg`` is
above the subject's centre, ``distance_m`` from it. Suns are directional (only azimuth and elevation matter).

Ratios are the illuminance each light gives at the subject's centre (facing it) relative to the key, the
cinematographer's *key:fill:back*; ``level`` sets the key's illuminance as a multiple of
:data:`core.illumination.REFERENCE_IRRADIANCE` (10 W/m², which the lighting pass shows at 80 % of white), so a
moonlit or candlelit scene is darker overall. Colour temperatures in kelvin; neon uses RGB colours instead.

Sources (ratios are the conventional values, temperatures the usual tables):

- Key:fill conventions (2:1 standard/three-point, ≤ 1.5:1 high key, 4:1–8:1 and more for low key; backlight
  about 3/4 of the key): B. Brown, *Motion Picture and Video Lighting*, 3rd ed., Routledge 2018, ch. "Lighting
  basics", and the ASC Manual's lighting-ratio tables.
- Colour temperatures: tungsten 3200 K, daylight / HMI 5600 K (studio standards); sun an hour after sunrise /
  before sunset ≈ 3500 K, sunrise / sunset 2000–3000 K, overcast sky 6500–7500 K, blue sky / shade 8000–10000 K,
  household incandescent 2700 K, candle flame 1850 K (the colour temperature tables in Brown, and the Kodak
  / Wikipedia "Color temperature" table).
- Moonlight is ≈ 4100 K physically but is conventionally shown blue (daylight-balanced light on a tungsten
  balance, "day for night"): 7500 K here, as in Brown's discussion of night exteriors.
- Neon noir: saturated cyan key and magenta rim against a near-black fill (8:1 or more), the look of
  *Blade Runner* / *Drive*-style night interiors; colours, not temperatures.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Role", "Preset", "PRESETS"]


@dataclass(frozen=True)
class Role:
    role: str                    # key, fill, back, rim, sun, sky, practical
    type: str                    # point, spot, sun, area
    azimuth_deg: float
    elevation_deg: float
    ratio: float                 # illuminance at the subject / the key's
    temperature_k: float | None = None
    color: tuple[float, float, float] | None = None
    distance_m: float = 3.0
    cone_deg: float = 45.0
    blend: float = 0.3
    size_m: float = 0.0
    # animated presets: the values at the end of the range (None = unchanged)
    end_elevation_deg: float | None = None
    end_ratio: float | None = None
    end_temperature_k: float | None = None


@dataclass(frozen=True)
class Preset:
    name: str
    level: float                 # the key's illuminance at the subject, in units of REFERENCE_IRRADIANCE
    roles: tuple[Role, ...]
    animated: bool = False


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("three_point", 1.0, (
        Role("key", "spot", 45, 35, 1.0, 3200, cone_deg=40, blend=0.3, size_m=0.3),
        Role("fill", "area", -40, 15, 0.5, 3200, size_m=1.0),
        Role("back", "spot", 160, 45, 0.75, 3200, cone_deg=35, blend=0.3, size_m=0.2),
    )),
    Preset("high_key", 1.0, (
        Role("key", "area", 30, 30, 1.0, 5600, size_m=1.5),
        Role("fill", "area", -35, 20, 0.8, 5600, size_m=1.5),
        Role("back", "area", 170, 40, 0.5, 5600, size_m=1.0),
    )),
    Preset("low_key", 1.0, (
        Role("key", "spot", 70, 40, 1.0, 3200, cone_deg=30, blend=0.2, size_m=0.1),
        Role("fill", "area", -40, 10, 0.125, 3200, size_m=1.0),
        Role("rim", "spot", 150, 35, 0.6, 3200, cone_deg=30, blend=0.2, size_m=0.1),
    )),
    Preset("golden_hour", 1.0, (
        Role("sun", "sun", 130, 8, 1.0, 3500),
        Role("sky", "area", -20, 50, 0.35, 8000, distance_m=4.0, size_m=3.0),
    )),
    Preset("sunset", 1.0, (
        Role("sun", "sun", 150, 10, 1.0, 3000, end_elevation_deg=1.0, end_ratio=0.3, end_temperature_k=2000),
        Role("sky", "area", -20, 50, 0.3, 9000, distance_m=4.0, size_m=3.0),
    ), animated=True),
    Preset("overcast", 1.0, (
        Role("sky", "area", 0, 75, 1.0, 6500, distance_m=4.0, size_m=6.0),
        Role("fill", "area", -60, 20, 0.7, 7000, distance_m=4.0, size_m=4.0),
    )),
    Preset("moonlight", 0.3, (
        Role("moon", "sun", 120, 35, 1.0, 7500),
        Role("fill", "area", -40, 20, 0.25, 8000, size_m=2.0),
    )),
    Preset("neon_noir", 0.6, (
        Role("key", "spot", 60, 20, 1.0, color=(0.1, 0.9, 1.0), cone_deg=40, blend=0.3, size_m=0.2),
        Role("rim", "spot", -150, 25, 0.8, color=(1.0, 0.1, 0.7), cone_deg=35, blend=0.3, size_m=0.2),
        Role("fill", "area", -30, 10, 0.1, color=(0.3, 0.4, 1.0), size_m=1.0),
    )),
    Preset("candlelit", 0.4, (
        Role("key", "point", 30, -10, 1.0, 1850, distance_m=0.8, size_m=0.02),
        Role("fill", "point", -60, -5, 0.25, 1850, distance_m=1.5, size_m=0.02),
    )),
    Preset("practical_interior", 0.8, (
        Role("key", "point", 50, 10, 1.0, 2700, distance_m=1.5, size_m=0.3),
        Role("fill", "area", -35, 25, 0.4, 3200, size_m=1.0),
        Role("back", "area", 160, 20, 0.6, 5600, size_m=1.5),
    )),
)}

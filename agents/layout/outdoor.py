"""Outdoor placement: terrain, streets (road and raised sidewalks), rows of buildings facing the street, street
furniture and vehicles along it, and vegetation scattered over free ground (see :mod:`agents.layout.recipe`).
"""

from __future__ import annotations

import math

from . import recipe as R
from .model import Item, Phantom, Slot, yaw_of_direction, yaw_towards
from .place import LayoutError, Plan, Resolver, effective_dims
from .place import box_geometry as _box

__all__ = ["OutdoorBuilder"]

SIDEWALK_HEIGHT_M = 0.15
ROAD_Y_M = 0.01


class OutdoorBuilder:
    def __init__(self, recipe: R.Outdoor, resolve: Resolver):
        self.r, self.resolve = recipe, resolve
        self.W, self.D = recipe.terrain.size
        self.ox, self.oz = recipe.terrain.origin
        self.items: list[Item] = []
        self.phantoms: list[Phantom] = []
        self.streets: dict[str, R.Street] = {}

    def bounds(self):
        return self.ox - self.W / 2, self.ox + self.W / 2, self.oz - self.D / 2, self.oz + self.D / 2

    def build(self) -> Plan:
        t = self.r.terrain
        x0, x1, z0, z1 = self.bounds()
        self.items.append(Item("terrain", "terrain", "env", (self.W, 0.0, self.D), self.ox, 0.0, self.oz,
                               geometry={"primitive": "plane", "size": [self.W, self.D]}, color=list(t.color),
                               kind="environment", solid=False))
        axes = {s.axis for s in self.r.streets}
        if len(axes) > 1:
            raise LayoutError("crossing streets (one along x, one along z) are not supported yet")
        for s in self.r.streets:
            self._street(s)
        self._check_corridors()
        for row in self.r.rows:
            self._row(row)
        for al in self.r.along:
            self._along(al)
        for o in self.r.objects:
            self._object(o)
        for sc in self.r.scatter:
            self._scatter(sc)
        for i, it in enumerate(self.items):
            it.order = i
        return Plan(self.items, self.phantoms, (x0, x1, z0, z1), None, "terrain")

    def _frame(self, s: R.Street):
        """(street length, centre line coordinate across, function (u, v) → (x, z)) — u along, v across."""
        if s.axis == "x":
            return self.W, self.oz + s.offset, lambda u, v: (self.ox + u, self.oz + s.offset + v)
        return self.D, self.ox + s.offset, lambda u, v: (self.ox + s.offset + v, self.oz + u)

    def _dims_xz(self, s: R.Street, along: float, across: float, height: float):
        return (along, height, across) if s.axis == "x" else (across, height, along)

    def _street(self, s: R.Street):
        self.streets[s.id] = s
        length, _, at = self._frame(s)
        x, z = at(0.0, 0.0)
        dims = self._dims_xz(s, length, s.width, 0.0)
        road = Item(f"{s.id}-road", "road", "env", dims, x, ROAD_Y_M, z,
                    geometry={"primitive": "plane", "size": [dims[0], dims[2]]}, color=[0.2, 0.2, 0.22],
                    kind="environment", solid=False, group=s.id)
        self.items.append(road)
        hx, hz = dims[0] / 2, dims[2] / 2
        self.phantoms.append(Phantom(f"the {s.id} road", (x - hx, x + hx, -1.0, 1e3, z - hz, z + hz),
                                     frozenset({"floor", "arch", "fixed"})))
        if s.sidewalk > 0:
            for sgn, name in ((-1, "a"), (1, "b")):
                v = sgn * (s.width / 2 + s.sidewalk / 2)
                sx, sz = at(0.0, v)
                sd = self._dims_xz(s, length, s.sidewalk, SIDEWALK_HEIGHT_M)
                side = self._side_name(s, sgn)
                it = Item(f"{s.id}-sidewalk-{side}", "sidewalk", "arch", sd, sx, 0.0, sz, geometry=_box(sd),
                          color=[0.7, 0.7, 0.68], support="terrain", group=s.id)
                it.extra["surface"] = True
                self.items.append(it)

    def _side_name(self, s: R.Street, sgn: int) -> str:
        return ("north" if sgn < 0 else "south") if s.axis == "x" else ("west" if sgn < 0 else "east")

    def _sgn(self, side: str) -> int:
        return -1 if side in ("north", "west") else 1

    def _check_corridors(self):
        spans = []
        for s in self.r.streets:
            half = s.width / 2 + s.sidewalk
            _, c, _ = self._frame(s)
            lo, hi = (self.oz, self.D) if s.axis == "x" else (self.ox, self.W)
            if c - half < lo - hi / 2 - 1e-9 or c + half > lo + hi / 2 + 1e-9:
                raise LayoutError(f"street {s.id}: its corridor runs off the terrain")
            spans.append((c - half, c + half, s.id))
        spans.sort()
        for a, b in zip(spans, spans[1:]):
            if b[0] < a[1] - 1e-9:
                raise LayoutError(f"streets {a[2]} and {b[2]} overlap")

    def _row(self, row: R.Row):
        s = self.streets[row.street]
        length, _, at = self._frame(s)
        names = row.assets or row.texts
        assets = [self.resolve(n, None, None) if row.assets else self.resolve(None, n, None) for n in names]
        sgn = self._sgn(row.side)
        # buildings face the street: their front (+Z at yaw 0) points across towards the centre line
        yaw = yaw_towards(*(((0.0, -sgn) if s.axis == "x" else (-sgn, 0.0))))
        chosen = [assets[i % len(assets)] for i in range(row.count)]
        dims = [effective_dims(a, None) for a in chosen]
        widths = [d[0][0] for d in dims]  # a building's width runs along the street
        total = sum(widths) + row.gap * (row.count - 1)
        if total > length + 1e-9:
            raise LayoutError(f"row {row.id}: {row.count} buildings need {total:.1f} m but street {s.id} is "
                              f"{length:.1f} m long")
        u = row.start - total / 2
        lo_u = -length / 2
        if u < lo_u - 1e-9 or u + total > length / 2 + 1e-9:
            raise LayoutError(f"row {row.id}: starting at {row.start:g} it runs past the end of street {s.id}")
        for i, (a, (d3, geo)) in enumerate(zip(chosen, dims)):
            depth = d3[2]
            v = sgn * (s.width / 2 + s.sidewalk + row.setback + depth / 2)
            cu = u + d3[0] / 2
            x, z = at(cu, v)
            it = Item(f"{row.id}-{i + 1}", a.name, "fixed", d3, x, 0.0, z, yaw=yaw, geometry=geo,
                      color=list(a.color), asset=a.id, group=row.id, support="terrain")
            self._check_across(it, row.id)
            ux0, vx = at(lo_u + d3[0] / 2, v), at(length / 2 - d3[0] / 2, v)
            it.slot = Slot(min(ux0[0], vx[0]), max(ux0[0], vx[0]), min(ux0[1], vx[1]), max(ux0[1], vx[1]), 0.25)
            self.items.append(it)
            u += d3[0] + row.gap

    def _check_across(self, it: Item, what: str):
        x0, x1, z0, z1 = self.bounds()
        b = it.box()
        if b[0] < x0 - 1e-9 or b[1] > x1 + 1e-9 or b[4] < z0 - 1e-9 or b[5] > z1 + 1e-9:
            raise LayoutError(f"{what}: a {it.name} there runs off the terrain")

    def _along(self, al: R.Along):
        s = self.streets[al.street]
        length, _, at = self._frame(s)
        asset = self.resolve(al.asset, al.text, al.size)
        d3, geo = effective_dims(asset, al.size)
        sides = ["north", "south"] if s.axis == "x" else ["west", "east"]
        if al.side != "both":
            sides = [al.side]
        for side in sides:
            sgn = self._sgn(side)
            if al.on == "road":
                yaw = (90 if sgn > 0 else -90) if s.axis == "x" else (0 if sgn < 0 else 180)
                across = d3[0]  # a vehicle's width lies across the street
                v = sgn * s.width / 4
                if across > s.width / 2 + 1e-9:
                    raise LayoutError(f"{al.id}: a {asset.name} is wider than a lane of street {s.id}")
                y, cls, support = ROAD_Y_M, "road", f"{s.id}-road"
            else:
                if s.sidewalk <= 0:
                    raise LayoutError(f"{al.id}: street {s.id} has no sidewalk")
                yaw = yaw_towards(*(((0.0, -sgn) if s.axis == "x" else (-sgn, 0.0))))
                across = d3[2]
                if across > s.sidewalk + 1e-9:
                    raise LayoutError(f"{al.id}: a {asset.name} ({across:g} m deep) does not fit on the "
                                      f"{s.sidewalk:g} m sidewalk of {s.id}")
                v = sgn * (s.width / 2 + min(0.4 + across / 2, s.sidewalk - across / 2))
                y, cls, support = SIDEWALK_HEIGHT_M, "surface", f"{s.id}-sidewalk-{side}"
            along_size = d3[2] if al.on == "road" else d3[0]
            if al.count is not None:
                n = al.count
                step = length / n
            else:
                n = max(1, int(math.floor(length / al.spacing)))
                step = al.spacing
            if n * along_size > length + 1e-9:
                raise LayoutError(f"{al.id}: {n} × {asset.name} do not fit along street {s.id}")
            for i in range(n):
                u = (i - (n - 1) / 2) * step
                x, z = at(u, v)
                it = Item(f"{al.id}-{side}-{i + 1}", asset.name, cls, d3, x, y, z, yaw=yaw, geometry=geo,
                          color=list(al.color or asset.color), asset=asset.id, group=al.id, support=support)
                a0 = at(-length / 2 + along_size / 2, v)
                a1 = at(length / 2 - along_size / 2, v)
                it.slot = Slot(min(a0[0], a1[0]), max(a0[0], a1[0]), min(a0[1], a1[1]), max(a0[1], a1[1]), 0.1)
                self.items.append(it)

    def _terrain_slot(self, it: Item, step: float = 0.25):
        x0, x1, z0, z1 = self.bounds()
        hx, hz = it.half
        it.slot = Slot(x0 + hx, x1 - hx, z0 + hz, z1 - hz, step)

    def _object(self, o: R.Obj):
        asset = self.resolve(o.asset, o.text, o.size)
        if asset.support != "floor":
            raise LayoutError(f"{o.id}: a {asset.name} needs a {asset.support} to stand on; outdoors only "
                              "floor assets can be placed")
        d3, geo = effective_dims(asset, o.size)
        for i in range(o.count):
            at = o.at or (0.0, 0.0)
            it = Item(f"{o.id}-{i + 1}", asset.name, "floor", d3, self.ox + at[0], 0.0, self.oz + at[1],
                      geometry=geo, color=list(o.color or asset.color), asset=asset.id, group=o.id,
                      support="terrain")
            if o.facing in R.WALLS:
                it.yaw = yaw_of_direction(o.facing)
            self._terrain_slot(it)
            self.items.append(it)

    def _scatter(self, sc: R.Scatter):
        asset = self.resolve(sc.asset, sc.text, sc.size)
        if asset.support != "floor":
            raise LayoutError(f"{sc.id}: a {asset.name} cannot be scattered on the ground")
        d3, geo = effective_dims(asset, sc.size)
        x0, x1, z0, z1 = self.bounds()
        for i in range(sc.count):
            # a deterministic low-discrepancy spread (Halton 2, 3) as the wish; the supervisor finds free ground
            hx, hz = _halton(i + 1, 2), _halton(i + 1, 3)
            it = Item(f"{sc.id}-{i + 1}", asset.name, "floor", d3, x0 + hx * (x1 - x0), 0.0, z0 + hz * (z1 - z0),
                      geometry=geo, color=list(sc.color or asset.color), asset=asset.id, group=sc.id,
                      support="terrain")
            self._terrain_slot(it, 0.5)
            it.x = min(max(it.x, it.slot.x0), it.slot.x1)
            it.z = min(max(it.z, it.slot.z0), it.slot.z1)
            self.items.append(it)


def _halton(i: int, base: int) -> float:
    f, r = 1.0, 0.0
    while i > 0:
        f /= base
        r += f * (i % base)
        i //= base
    return r

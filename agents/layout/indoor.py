"""Indoor placement: a room (floor, walls split around door and window openings, an optional ceiling) and the
objects of the recipe where their relations put them — against a wall, on a surface, in front of, beside, around,
centred or at a point (see :mod:`agents.layout.recipe`). Wall hangings and ceiling lamps are held by
``attached_to``; everything else rests on the floor or on the object it stands on.
"""

from __future__ import annotations

from agents.assets.catalog import BY_ID, Asset

from . import recipe as R
from .model import Item, Phantom, Slot, facing_vec, right_vec, yaw_of_direction, yaw_towards
from .place import (CEILING_THICKNESS_M, DEFAULT_DISTANCE, DOOR_CLEARANCE_M, LayoutError, Plan, Resolver,
                    WALL_HANG_DEPTH_M, box_geometry as _box, effective_dims)

__all__ = ["IndoorBuilder"]


class IndoorBuilder:
    def __init__(self, recipe: R.Indoor, resolve: Resolver):
        self.r, self.resolve = recipe, resolve
        room = recipe.room
        self.w, self.d = room.size
        self.h, self.t = room.height, room.wall_thickness
        self.ox, self.oz = room.origin
        self.items: list[Item] = []
        self.phantoms: list[Phantom] = []
        self.pieces: dict[str, list[Item]] = {k: [] for k in R.WALLS}
        self.groups: dict[str, list[Item]] = {}
        self.on_count: dict[str, int] = {}

    # ------------------------------------------------------------ room
    def build(self) -> Plan:
        r = self.r.room
        ox, oz, w, d, t = self.ox, self.oz, self.w, self.d, self.t
        self.items.append(Item("floor", "floor", "env", (w + 2 * t, 0.0, d + 2 * t), ox, 0.0, oz,
                               geometry={"primitive": "plane", "size": [w + 2 * t, d + 2 * t]},
                               color=list(r.floor_color), kind="environment", solid=False))
        self._walls()
        objects = R.order(self.r.objects)
        assets = {o.id: self._asset(o) for o in objects}
        if r.ceiling or any(assets[o.id].support == "ceiling" for o in objects):
            self.items.append(Item("ceiling", "ceiling", "env", (w + 2 * t, CEILING_THICKNESS_M, d + 2 * t), ox,
                                   self.h, oz, geometry=_box((w + 2 * t, CEILING_THICKNESS_M, d + 2 * t)),
                                   color=list(r.wall_color), kind="environment", solid=False))
        self._check_floor_area(objects, assets)
        for o in objects:
            self._place(o, assets[o.id])
        for i, it in enumerate(self.items):
            it.order = i
        return Plan(self.items, self.phantoms, (ox - w / 2 - t, ox + w / 2 + t, oz - d / 2 - t, oz + d / 2 + t),
                    self.h, "floor")

    def _interior(self):
        return self.ox - self.w / 2, self.ox + self.w / 2, self.oz - self.d / 2, self.oz + self.d / 2

    def _wall_frame(self, wall: str):
        """(along-axis, half length of the interior side, inward normal (x, z), inner-face coordinate)."""
        x0, x1, z0, z1 = self._interior()
        return {"north": ("x", self.w / 2, (0.0, 1.0), z0), "south": ("x", self.w / 2, (0.0, -1.0), z1),
                "west": ("z", self.d / 2, (1.0, 0.0), x0), "east": ("z", self.d / 2, (-1.0, 0.0), x1)}[wall]

    def _walls(self):
        r, t, h = self.r.room, self.t, self.h
        by_wall: dict[str, list[tuple[float, float, float, float, str]]] = {k: [] for k in R.WALLS}
        for i, op in enumerate(self.r.openings):
            door = op.type == "door"
            width = op.width if op.width is not None else (0.9 if door else 1.2)
            height = op.height if op.height is not None else (2.1 if door else 1.2)
            sill = op.sill if op.sill is not None else (0.0 if door else 0.9)
            _, half, _, _ = self._wall_frame(op.wall)
            if abs(op.offset) + width / 2 > half + 1e-9:
                raise LayoutError(f"openings[{i}]: a {width:g} m {op.type} at offset {op.offset:g} does not fit on "
                                  f"the {op.wall} wall ({2 * half:g} m inside)")
            if sill + height > h + 1e-9:
                raise LayoutError(f"openings[{i}]: the {op.type} reaches {sill + height:g} m, above the "
                                  f"{h:g} m ceiling")
            by_wall[op.wall].append((op.offset - width / 2, op.offset + width / 2, sill, sill + height, op.type))
        for wall in R.WALLS:
            ops = sorted(by_wall[wall])
            for a, b in zip(ops, ops[1:]):
                if b[0] < a[1] - 1e-9:
                    raise LayoutError(f"openings on the {wall} wall overlap")
            axis, half, normal, face = self._wall_frame(wall)
            end = half + t if axis == "x" else half      # north/south walls cover the corners
            cursor, n = -end, 0
            prev_full: Item | None = None
            pending_attach: list[Item] = []

            def piece(u0, u1, y0, y1, full):
                nonlocal n
                n += 1
                length = u1 - u0
                centre_u = (u0 + u1) / 2
                depth_c = face - normal[0 if axis == "z" else 1] * t / 2
                if axis == "x":
                    x, z, dims = self.ox + centre_u, depth_c, (length, y1 - y0, t)
                else:
                    x, z, dims = depth_c, self.oz + centre_u, (t, y1 - y0, length)
                it = Item(f"wall-{wall}-{n}", "wall", "arch", dims, x, y0, z, geometry=_box(dims),
                          color=list(r.wall_color), group=f"wall-{wall}")
                it.extra["wall"] = (wall, u0, u1, y0, y1)
                self.items.append(it)
                self.pieces[wall].append(it)
                return it

            for u0, u1, y0, y1, kind in ops:
                if u0 - cursor > 1e-6:
                    prev_full = piece(cursor, u0, 0.0, h, True)
                    prev_full.support = "floor"
                    for p in pending_attach:
                        p.attach = prev_full.local
                    pending_attach = []
                if y0 > 1e-6:
                    below = piece(u0, u1, 0.0, y0, False)
                    below.support = "floor"
                if y1 < h - 1e-6:
                    above = piece(u0, u1, y1, h, False)
                    if prev_full is not None:
                        above.attach = prev_full.local
                    else:
                        pending_attach.append(above)
                self._opening_phantoms(wall, u0, u1, y0, y1, kind)
                cursor = u1
            if end - cursor > 1e-6:
                last = piece(cursor, end, 0.0, h, True)
                last.support = "floor"
                for p in pending_attach:
                    p.attach = last.local

    def _opening_phantoms(self, wall, u0, u1, y0, y1, kind):
        axis, _, normal, face = self._wall_frame(wall)
        nx, nz = normal

        def box(depth, ylo, yhi):
            a = face
            b = face + (nz if axis == "x" else nx) * depth
            lo, hi = min(a, b), max(a, b)
            if axis == "x":
                return (self.ox + u0, self.ox + u1, ylo, yhi, lo, hi)
            return (lo, hi, ylo, yhi, self.oz + u0, self.oz + u1)

        self.phantoms.append(Phantom(f"{kind} in the {wall} wall", box(WALL_HANG_DEPTH_M, y0, y1),
                                     frozenset({"wall"})))
        if kind == "door":
            self.phantoms.append(Phantom(f"the swing of the {wall} door", box(DOOR_CLEARANCE_M, 0.0, y1),
                                         frozenset({"floor", "surface"})))

    # ------------------------------------------------------------ objects
    def _asset(self, o: R.Obj) -> Asset:
        return self.resolve(o.asset, o.text, o.size)

    def _check_floor_area(self, objects, assets):
        need = 0.0
        for o in objects:
            a = assets[o.id]
            if a.support == "floor" and o.on is None:
                dims, _ = effective_dims(a, o.size)
                need += dims[0] * dims[2] * o.count
        have = self.w * self.d
        if need > have + 1e-9:
            raise LayoutError(f"the objects need {need:.1f} m² of floor but the room has {have:.1f} m²")

    def _place(self, o: R.Obj, asset: Asset):
        dims, geo = effective_dims(asset, o.size)
        color = list(o.color or asset.color)
        rel = o.relation
        kind = rel[0] if rel else None
        if asset.support == "wall" and kind not in ("against", "on"):
            raise LayoutError(f"{o.id}: a {asset.name} hangs on a wall: give it 'against'")
        if asset.support == "ceiling" and kind not in (None, "centred", "at"):
            raise LayoutError(f"{o.id}: a {asset.name} hangs from the ceiling: place it with 'at' or 'centred'")
        x0, x1, z0, z1 = self._interior()
        copies: list[Item] = []
        targets = self.groups.get(o.target, []) if o.target else []
        for i in range(o.count):
            it = Item(f"{o.id}-{i + 1}", asset.name, "floor", dims, 0.0, 0.0, 0.0, geometry=geo, color=color,
                      asset=asset.id, group=o.id, support="floor")
            target = targets[i % len(targets)] if targets else None
            if asset.support == "ceiling":
                self._ceiling(it, o, i)
            elif kind == "against":
                self._against(it, o, i, asset)
            elif kind == "on":
                self._on(it, o, target)
            elif kind == "in_front_of":
                self._in_front(it, o, target)
            elif kind == "beside":
                self._beside(it, o, target, i)
            elif kind == "around":
                self._around(it, o, target, i, len(targets))
            else:
                cx, cz = (self.ox, self.oz) if kind != "at" else (self.ox + o.at[0], self.oz + o.at[1])
                it.x, it.z = cx, cz
            if o.facing is not None and kind != "against":
                self._face(it, o.facing)
            if it.slot is None and it.cls == "floor":
                self._floor_slot(it)
            copies.append(it)
            self.items.append(it)
        self.groups[o.id] = copies

    def _floor_slot(self, it: Item):
        x0, x1, z0, z1 = self._interior()
        hx, hz = it.half
        it.slot = Slot(x0 + hx, x1 - hx, z0 + hz, z1 - hz, 0.05)

    def _ceiling(self, it: Item, o: R.Obj, i: int):
        it.cls, it.support, it.attach = "ceiling", None, "ceiling"
        cx, cz = (self.ox, self.oz) if o.at is None else (self.ox + o.at[0], self.oz + o.at[1])
        if o.count > 1 and o.at is None:  # several pendants: a row along the room's longer side
            along = self.w >= self.d
            span = (self.w if along else self.d) / o.count
            u = (i - (o.count - 1) / 2) * span
            cx, cz = (cx + u, cz) if along else (cx, cz + u)
        it.x, it.y, it.z = cx, self.h - it.dims[1], cz
        x0, x1, z0, z1 = self._interior()
        hx, hz = it.half
        it.slot = Slot(x0 + hx, x1 - hx, z0 + hz, z1 - hz, 0.05)

    def _against(self, it: Item, o: R.Obj, i: int, asset: Asset):
        wall = o.against
        axis, half, normal, face = self._wall_frame(wall)
        it.yaw = yaw_towards(*normal)
        hx, hz = it.half
        along_half = hx if axis == "x" else hz
        across_half = hz if axis == "x" else hx
        if along_half * 2 > 2 * half + 1e-9:
            raise LayoutError(f"{it.local}: a {asset.name} ({2 * along_half:g} m) is wider than the {wall} wall")
        spacing = 2 * along_half + 0.1
        u = (o.offset or 0.0) + (i - (o.count - 1) / 2) * spacing
        depth = face + (normal[1] if axis == "x" else normal[0]) * across_half
        if axis == "x":
            it.x, it.z = self.ox + u, depth
            it.slot = Slot(self.ox - half + along_half, self.ox + half - along_half, depth, depth, 0.05)
        else:
            it.x, it.z = depth, self.oz + u
            it.slot = Slot(depth, depth, self.oz - half + along_half, self.oz + half - along_half, 0.05)
        if asset.support == "wall":
            it.cls, it.support = "wall", None
            y = o.elevation if o.elevation is not None else max(0.0, 1.5 - it.dims[1] / 2)
            if y + it.dims[1] > self.h + 1e-9:
                raise LayoutError(f"{it.local}: a {asset.name} at {y:g} m reaches above the ceiling")
            it.y = y
            it.extra["wall"] = wall
        else:
            it.cls = "floor"
            it.extra["against"] = wall

    def _on(self, it: Item, o: R.Obj, parent: Item):
        if parent is None or parent.asset is None:
            raise LayoutError(f"{it.local}: nothing to stand on")
        pa = BY_ID.get(parent.asset)
        if parent.extra.get("surface") is not True and (pa is None or not pa.surface):
            raise LayoutError(f"{it.local}: {parent.local} ({parent.name}) has no top to stand on")
        it.cls, it.support, it.yaw = "surface", parent.local, parent.yaw
        phx, phz = parent.half
        hx, hz = it.half
        if hx > phx + 1e-9 or hz > phz + 1e-9:
            raise LayoutError(f"{it.local}: a {it.name} does not fit on {parent.local} ({parent.name})")
        n = self.on_count.get(parent.local, 0)
        self.on_count[parent.local] = n + 1
        rx, rz = right_vec(parent.yaw)
        # side by side across the top: 0, +1, −1, +2, … widths along the parent's right axis
        k = (n + 1) // 2 * (1 if n % 2 else -1)
        step = 2 * (hx if abs(rx) > 0.5 else hz) + 0.05
        it.x, it.z = parent.x + rx * k * step, parent.z + rz * k * step
        it.y = parent.y + parent.dims[1]
        it.slot = Slot(parent.x - phx + hx, parent.x + phx - hx, parent.z - phz + hz, parent.z + phz - hz, 0.02)
        it.extra["parent"] = parent.local

    def _in_front(self, it: Item, o: R.Obj, target: Item):
        fx, fz = facing_vec(target.yaw)
        dist = o.distance if o.distance is not None else DEFAULT_DISTANCE["in_front_of"]
        it.yaw = yaw_towards(-fx, -fz)
        t_half_depth = target.dims[2] / 2
        my_half_depth = it.dims[2] / 2
        reach = t_half_depth + dist + my_half_depth
        it.x, it.z = target.x + fx * reach, target.z + fz * reach

    def _beside(self, it: Item, o: R.Obj, target: Item, i: int):
        side = o.side or ("right" if i % 2 == 0 else "left")
        rx, rz = right_vec(target.yaw)
        if side == "left":
            rx, rz = -rx, -rz
        dist = o.distance if o.distance is not None else DEFAULT_DISTANCE["beside"]
        it.yaw = target.yaw
        reach = target.dims[0] / 2 + dist + it.dims[0] / 2
        it.x, it.z = target.x + rx * reach, target.z + rz * reach

    def _around(self, it: Item, o: R.Obj, target: Item, i: int, n_targets: int):
        n = o.count
        ends = 2 if n >= 6 else (1 if n % 2 and n >= 3 else 0)
        long_n = n - ends
        front = (long_n + 1) // 2
        back = long_n - front
        sides = [("front", front), ("back", back), ("right", 1 if ends >= 1 else 0), ("left", 1 if ends >= 2 else 0)]
        k = i
        for side, count in sides:
            if k < count:
                break
            k -= count
        fx, fz = facing_vec(target.yaw)
        rx, rz = right_vec(target.yaw)
        dist = o.distance if o.distance is not None else DEFAULT_DISTANCE["around"]
        tw, td = target.dims[0], target.dims[2]
        if side in ("front", "back"):
            sgn = 1 if side == "front" else -1
            u = (k - (count - 1) / 2) * (tw / max(count, 1))
            reach = td / 2 + dist + it.dims[2] / 2
            it.x = target.x + sgn * fx * reach + rx * u
            it.z = target.z + sgn * fz * reach + rz * u
        else:
            sgn = 1 if side == "right" else -1
            reach = tw / 2 + dist + it.dims[2] / 2
            it.x, it.z = target.x + sgn * rx * reach, target.z + sgn * rz * reach
        it.yaw = yaw_towards(target.x - it.x, target.z - it.z)

    def _face(self, it: Item, facing: str):
        if facing == "centre":
            it.yaw = yaw_towards(self.ox - it.x, self.oz - it.z)
        elif facing in R.WALLS:
            it.yaw = yaw_of_direction(facing)
        else:
            targets = self.groups.get(facing)
            if targets:
                t = targets[0]
                it.yaw = yaw_towards(t.x - it.x, t.z - it.z)



"""The built-in asset library: parametric white-box assets with canonical dimensions and support types.

Conventions (SPEC §2, §4): metres, Y up, pivot at the bottom centre of the bounding box. ``dims`` is
``(w, h, d)``: width along X, height along Y, depth along Z. An asset's *front* faces +Z (a sofa's seat opens
towards +Z; a character faces +Z too), so "against the north wall" turns it to face into the room.

``support`` says what an asset rests on: ``floor`` (ground or any floor), ``table`` (a table top or other top
surface: lamps, vases, a television on a stand), ``wall`` (hung on a wall: paintings, mirrors), ``ceiling``
(pendants, fans). ``surface`` marks assets whose top others may stand on (tables, counters, stands, shelves).

``primitive`` is the white-box form an entity gets — a ``box`` of the dims, or a ``cylinder`` / ``sphere`` fitted
to them — and :func:`parts` gives a finer white-box decomposition (a table's top and legs) in asset-local
coordinates for renderers that want it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Asset", "Part", "SUPPORTS", "CATEGORIES", "CATALOG", "BY_ID", "get", "geometry_for", "parts"]

SUPPORTS = ("floor", "table", "wall", "ceiling")
CATEGORIES = ("furniture", "architecture", "street", "vehicles", "nature", "props")


@dataclass(frozen=True)
class Asset:
    id: str
    name: str
    category: str
    dims: tuple[float, float, float]           # (w, h, d) metres
    support: str                               # one of SUPPORTS
    synonyms: tuple[str, ...] = ()
    description: str = ""
    primitive: str = "box"                     # box | cylinder | sphere
    color: tuple[float, float, float] = (0.8, 0.8, 0.8)
    surface: bool = False                      # others may stand on its top
    shape: str = "block"                       # white-box family for :func:`parts`
    source: str = "builtin"                    # builtin | import

    @property
    def texts(self) -> tuple[str, ...]:
        """The phrases retrieval matches a query against: the name, each synonym, and the description."""
        return (self.name, *self.synonyms, f"{self.name}: {self.description}" if self.description else self.name)


@dataclass(frozen=True)
class Part:
    primitive: str                             # box | cylinder | sphere
    dims: tuple[float, float, float]           # bounding (w, h, d) of the part
    offset: tuple[float, float, float]         # bottom centre of the part in asset-local coordinates


_WOOD = (0.55, 0.38, 0.24)
_FABRIC = (0.45, 0.5, 0.62)
_WHITE = (0.9, 0.9, 0.88)
_METAL = (0.55, 0.57, 0.6)
_DARK = (0.18, 0.18, 0.2)
_GREEN = (0.3, 0.55, 0.25)
_STONE = (0.62, 0.6, 0.56)
_BRICK = (0.66, 0.36, 0.28)
_CONCRETE = (0.72, 0.72, 0.7)


def _a(id, name, category, dims, support, synonyms=(), description="", **kw) -> Asset:
    return Asset(id, name, category, tuple(float(x) for x in dims), support, tuple(synonyms), description, **kw)


CATALOG: tuple[Asset, ...] = (
    # ------------------------------------------------------------ furniture
    _a("sofa", "sofa", "furniture", (2.1, 0.85, 0.9), "floor", ("couch", "settee", "three-seater sofa", "loveseat"),
       "upholstered seat for several people in a living room", color=_FABRIC, shape="seat"),
    _a("armchair", "armchair", "furniture", (0.85, 0.9, 0.85), "floor", ("easy chair", "lounge chair", "club chair"),
       "upholstered single chair with arms", color=_FABRIC, shape="seat"),
    _a("coffee_table", "coffee table", "furniture", (1.1, 0.45, 0.6), "floor", ("low table", "cocktail table"),
       "low table in front of a sofa", color=_WOOD, surface=True, shape="table"),
    _a("dining_table", "dining table", "furniture", (1.6, 0.75, 0.9), "floor",
       ("kitchen table", "table", "dinner table"), "table to eat at, with chairs around it", color=_WOOD,
       surface=True, shape="table"),
    _a("dining_chair", "dining chair", "furniture", (0.45, 0.9, 0.5), "floor",
       ("chair", "kitchen chair", "wooden chair"), "simple chair with a back, no arms", color=_WOOD, shape="seat"),
    _a("office_chair", "office chair", "furniture", (0.65, 1.1, 0.65), "floor", ("desk chair", "swivel chair"),
       "rolling swivel chair for a desk", color=_DARK, shape="seat"),
    _a("desk", "desk", "furniture", (1.4, 0.75, 0.7), "floor", ("writing desk", "work desk", "computer desk"),
       "work table for an office or study", color=_WOOD, surface=True, shape="table"),
    _a("side_table", "side table", "furniture", (0.5, 0.55, 0.5), "floor", ("end table", "lamp table"),
       "small table beside a sofa or armchair", color=_WOOD, surface=True, shape="table"),
    _a("nightstand", "nightstand", "furniture", (0.5, 0.55, 0.4), "floor", ("bedside table", "night table"),
       "small cabinet beside a bed", color=_WOOD, surface=True),
    _a("bed", "double bed", "furniture", (1.6, 0.55, 2.1), "floor", ("bed", "queen bed", "mattress"),
       "bed for two people to sleep in", color=_WHITE),
    _a("bookshelf", "bookshelf", "furniture", (0.9, 1.9, 0.35), "floor", ("bookcase", "shelving unit", "shelves"),
       "tall shelves for books standing against a wall", color=_WOOD, shape="shelf"),
    _a("tv_stand", "tv stand", "furniture", (1.6, 0.5, 0.45), "floor",
       ("media console", "tv cabinet", "entertainment unit"), "low cabinet a television stands on",
       color=_DARK, surface=True),
    _a("wardrobe", "wardrobe", "furniture", (1.2, 2.1, 0.6), "floor", ("closet", "armoire", "clothes cupboard"),
       "tall cupboard for clothes", color=_WOOD),
    _a("dresser", "dresser", "furniture", (1.2, 0.85, 0.5), "floor", ("chest of drawers", "sideboard", "cabinet"),
       "waist-high cabinet with drawers", color=_WOOD, surface=True),
    _a("kitchen_counter", "kitchen counter", "furniture", (2.0, 0.9, 0.6), "floor",
       ("countertop", "kitchen cabinets", "worktop"), "run of kitchen base cabinets with a worktop",
       color=_WHITE, surface=True),
    _a("fridge", "refrigerator", "furniture", (0.7, 1.8, 0.7), "floor", ("fridge", "freezer", "icebox"),
       "kitchen appliance that keeps food cold", color=_WHITE),
    _a("stool", "bar stool", "furniture", (0.4, 0.75, 0.4), "floor", ("stool", "counter stool"),
       "backless seat", primitive="cylinder", color=_WOOD),
    _a("bench", "bench", "furniture", (1.2, 0.45, 0.4), "floor", ("indoor bench", "entry bench"),
       "long backless seat indoors", color=_WOOD),
    _a("floor_lamp", "floor lamp", "props", (0.4, 1.6, 0.4), "floor", ("standing lamp", "standard lamp"),
       "tall lamp standing on the floor", primitive="cylinder", color=_WHITE),
    _a("potted_plant", "potted plant", "props", (0.45, 1.0, 0.45), "floor", ("houseplant", "indoor plant", "ficus"),
       "plant growing in a pot indoors", primitive="cylinder", color=_GREEN),
    # ------------------------------------------------------------ props (table top, wall, ceiling)
    _a("table_lamp", "table lamp", "props", (0.3, 0.5, 0.3), "table", ("desk lamp", "bedside lamp"),
       "small lamp standing on a table", primitive="cylinder", color=_WHITE),
    _a("television", "television", "props", (1.2, 0.75, 0.2), "table", ("tv", "flat screen", "monitor screen"),
       "flat-screen television set", color=_DARK),
    _a("vase", "vase", "props", (0.18, 0.35, 0.18), "table", ("flower vase", "vase of flowers"),
       "vase with flowers", primitive="cylinder", color=(0.3, 0.45, 0.7)),
    _a("books", "stack of books", "props", (0.25, 0.15, 0.2), "table", ("books", "book", "novels"),
       "a few books lying on a surface", color=(0.6, 0.2, 0.2)),
    _a("laptop", "laptop", "props", (0.34, 0.25, 0.24), "table", ("notebook computer", "computer"),
       "open portable computer", color=_METAL),
    _a("mug", "coffee mug", "props", (0.09, 0.1, 0.09), "table", ("mug", "cup", "teacup"),
       "cup for hot drinks", primitive="cylinder", color=_WHITE),
    _a("bowl", "fruit bowl", "props", (0.3, 0.12, 0.3), "table", ("bowl", "fruit"),
       "bowl of fruit", primitive="cylinder", color=(0.85, 0.55, 0.2)),
    _a("painting", "painting", "props", (0.9, 0.6, 0.04), "wall", ("picture", "framed picture", "artwork", "poster"),
       "framed picture hanging on a wall", color=(0.75, 0.6, 0.35)),
    _a("mirror", "wall mirror", "props", (0.6, 0.9, 0.03), "wall", ("mirror", "looking glass"),
       "mirror hanging on a wall", color=(0.8, 0.85, 0.9)),
    _a("wall_clock", "wall clock", "props", (0.35, 0.35, 0.05), "wall", ("clock",),
       "round clock on a wall", color=_WHITE),
    _a("wall_shelf", "wall shelf", "props", (0.8, 0.04, 0.22), "wall", ("floating shelf", "ledge"),
       "single shelf fixed to a wall", color=_WOOD, surface=True),
    _a("ceiling_lamp", "ceiling lamp", "props", (0.45, 0.35, 0.45), "ceiling",
       ("pendant light", "chandelier", "ceiling light", "hanging lamp"), "light hanging from the ceiling",
       primitive="cylinder", color=_WHITE),
    _a("ceiling_fan", "ceiling fan", "props", (1.2, 0.3, 1.2), "ceiling", ("fan",),
       "fan with blades under the ceiling", primitive="cylinder", color=_WHITE),
    # ------------------------------------------------------------ architecture
    _a("wall", "wall", "architecture", (4.0, 2.7, 0.15), "floor", ("partition", "wall panel"),
       "straight interior wall", color=_WHITE),
    _a("door", "door", "architecture", (0.9, 2.1, 0.05), "floor", ("doorway", "front door", "interior door"),
       "hinged door in a wall", color=_WOOD),
    _a("window", "window", "architecture", (1.2, 1.2, 0.1), "wall", ("window frame", "glazing"),
       "glazed opening in a wall", color=(0.7, 0.85, 0.95)),
    _a("column", "column", "architecture", (0.4, 3.0, 0.4), "floor", ("pillar", "post"),
       "round structural column", primitive="cylinder", color=_STONE),
    _a("staircase", "staircase", "architecture", (1.0, 2.7, 3.2), "floor", ("stairs", "stairway", "steps"),
       "flight of stairs to the next floor", color=_WOOD),
    _a("house", "house", "architecture", (8.0, 6.5, 10.0), "floor",
       ("townhouse", "family home", "cottage", "residential building"), "two-storey house on a street",
       color=_BRICK),
    _a("apartment_building", "apartment building", "architecture", (14.0, 18.0, 12.0), "floor",
       ("apartment block", "block of flats", "tenement", "residential tower"), "multi-storey block of apartments",
       color=_CONCRETE),
    _a("shop", "shop", "architecture", (10.0, 4.5, 8.0), "floor", ("store", "storefront", "boutique", "corner shop"),
       "single-storey retail building with a shop window", color=(0.8, 0.75, 0.6)),
    _a("office_tower", "office tower", "architecture", (20.0, 45.0, 20.0), "floor",
       ("skyscraper", "office building", "high-rise"), "tall office building of glass and steel",
       color=(0.5, 0.6, 0.7)),
    _a("garage", "garage", "architecture", (3.5, 2.6, 6.0), "floor", ("carport", "shed"),
       "small building to park a car in", color=_CONCRETE),
    _a("fence", "fence", "architecture", (2.0, 1.1, 0.06), "floor", ("railing", "picket fence"),
       "section of fence", color=_WOOD),
    # ------------------------------------------------------------ street furniture
    _a("street_lamp", "street lamp", "street", (0.35, 5.5, 0.35), "floor",
       ("streetlight", "lamp post", "lamppost", "street light"), "tall lamp post lighting a street",
       primitive="cylinder", color=_DARK),
    _a("traffic_light", "traffic light", "street", (0.35, 3.6, 0.35), "floor",
       ("traffic signal", "stoplight", "traffic lights"), "signal post at a crossing", primitive="cylinder",
       color=_DARK),
    _a("park_bench", "park bench", "street", (1.8, 0.85, 0.65), "floor", ("street bench", "public bench", "outdoor bench"),
       "outdoor bench with a backrest", color=_WOOD, shape="seat"),
    _a("bus_stop", "bus stop", "street", (3.0, 2.5, 1.5), "floor", ("bus shelter", "tram stop"),
       "shelter where people wait for the bus", color=_METAL),
    _a("trash_can", "trash can", "street", (0.5, 0.95, 0.5), "floor", ("bin", "garbage can", "litter bin",
                                                                        "rubbish bin", "dustbin"),
       "bin for rubbish", primitive="cylinder", color=(0.25, 0.4, 0.3)),
    _a("fire_hydrant", "fire hydrant", "street", (0.3, 0.75, 0.3), "floor", ("hydrant",),
       "red water outlet for firefighters", primitive="cylinder", color=(0.8, 0.12, 0.1)),
    _a("mailbox", "mailbox", "street", (0.45, 1.2, 0.45), "floor", ("postbox", "letterbox", "post box"),
       "box for posting letters", color=(0.15, 0.25, 0.6)),
    _a("bollard", "bollard", "street", (0.2, 0.9, 0.2), "floor", ("traffic post",), "short post keeping cars off",
       primitive="cylinder", color=_DARK),
    _a("stop_sign", "stop sign", "street", (0.75, 2.3, 0.1), "floor", ("road sign", "street sign", "sign post"),
       "red octagonal traffic sign on a pole", color=(0.8, 0.1, 0.1)),
    # ------------------------------------------------------------ vehicles
    _a("car", "car", "vehicles", (1.8, 1.45, 4.5), "floor", ("sedan", "automobile", "hatchback", "taxi"),
       "four-door passenger car", color=(0.7, 0.15, 0.15)),
    _a("suv", "suv", "vehicles", (1.95, 1.8, 4.8), "floor", ("jeep", "sport utility vehicle", "4x4"),
       "tall sport utility vehicle", color=(0.2, 0.25, 0.35)),
    _a("van", "van", "vehicles", (2.0, 2.2, 5.2), "floor", ("delivery van", "minivan", "minibus"),
       "boxy delivery van", color=_WHITE),
    _a("bus", "bus", "vehicles", (2.55, 3.2, 12.0), "floor", ("city bus", "coach", "double-decker"),
       "public transport bus", color=(0.9, 0.7, 0.1)),
    _a("truck", "truck", "vehicles", (2.5, 3.6, 8.0), "floor", ("lorry", "pickup truck", "delivery truck"),
       "heavy goods truck", color=(0.3, 0.35, 0.4)),
    _a("bicycle", "bicycle", "vehicles", (0.6, 1.05, 1.75), "floor", ("bike", "push bike", "cycle"),
       "two-wheeled pedal bike", color=_METAL),
    _a("motorcycle", "motorcycle", "vehicles", (0.8, 1.15, 2.1), "floor", ("motorbike", "scooter", "moped"),
       "two-wheeled motor vehicle", color=_DARK),
    # ------------------------------------------------------------ nature
    _a("oak_tree", "oak tree", "nature", (6.0, 9.0, 6.0), "floor", ("oak", "deciduous tree", "tree", "shade tree"),
       "broad leafy tree with a wide crown", primitive="cylinder", color=_GREEN),
    _a("pine_tree", "pine tree", "nature", (3.5, 11.0, 3.5), "floor",
       ("pine", "fir tree", "spruce", "conifer", "christmas tree", "evergreen"), "tall narrow conifer",
       primitive="cylinder", color=(0.15, 0.4, 0.2)),
    _a("palm_tree", "palm tree", "nature", (3.0, 8.0, 3.0), "floor", ("palm", "coconut tree"),
       "tropical tree with fronds", primitive="cylinder", color=(0.4, 0.6, 0.25)),
    _a("bush", "bush", "nature", (1.4, 1.2, 1.4), "floor", ("shrub", "shrubbery"), "round garden shrub",
       primitive="sphere", color=_GREEN),
    _a("hedge", "hedge", "nature", (3.0, 1.3, 0.8), "floor", ("hedgerow", "privet"), "trimmed row of shrubs",
       color=(0.2, 0.45, 0.2)),
    _a("rock", "boulder", "nature", (1.2, 1.0, 1.0), "floor", ("rock", "stone", "large rock"), "big rock",
       primitive="sphere", color=_STONE),
    _a("flower_bed", "flower bed", "nature", (2.0, 0.35, 1.0), "floor", ("flowers", "planter", "garden bed"),
       "raised bed of flowers", color=(0.75, 0.35, 0.5)),
)

BY_ID: dict[str, Asset] = {a.id: a for a in CATALOG}
assert len(BY_ID) == len(CATALOG), "duplicate asset ids"


def get(asset_id: str) -> Asset | None:
    return BY_ID.get(asset_id)


def geometry_for(primitive: str, dims) -> dict:
    """The entity ``geometry`` value (SPEC §4) of a white-box ``primitive`` fitted to ``dims`` (w, h, d).

    A cylinder's radius is half the larger footprint side; a sphere's radius half the largest dimension, so the
    geometry never pokes out of the footprint the layout reserved for it by more than the rounding of a box.
    """
    w, h, d = (float(x) for x in dims)
    if primitive == "cylinder":
        return {"primitive": "cylinder", "radius": min(w, d) / 2, "height": h}
    if primitive == "sphere":
        return {"primitive": "sphere", "radius": min(w, h, d) / 2}
    return {"primitive": "box", "size": [w, h, d]}


def parts(asset: Asset, dims=None) -> list[Part]:
    """A finer white-box decomposition of ``asset`` scaled to ``dims`` (default canonical), in asset-local
    coordinates (pivot at the bottom centre, front +Z); every part lies within the asset's bounding box."""
    w, h, d = dims if dims is not None else asset.dims
    if asset.shape == "table":
        top = min(0.05, h * 0.1)
        leg = min(0.06, w / 8, d / 8)
        out = [Part("box", (w, top, d), (0.0, h - top, 0.0))]
        for sx in (-1, 1):
            for sz in (-1, 1):
                out.append(Part("box", (leg, h - top, leg), (sx * (w - leg) / 2, 0.0, sz * (d - leg) / 2)))
        return out
    if asset.shape == "seat":
        seat_h = min(0.45, h * 0.5)
        back = min(0.15, d * 0.25)
        return [Part("box", (w, seat_h, d), (0.0, 0.0, 0.0)),
                Part("box", (w, h - seat_h, back), (0.0, seat_h, -(d - back) / 2))]
    if asset.shape == "shelf":
        board = 0.03
        n = max(2, int(h / 0.4))
        out = [Part("box", (board, h, d), (sx * (w - board) / 2, 0.0, 0.0)) for sx in (-1, 1)]
        out += [Part("box", (w - 2 * board, board, d), (0.0, i * (h - board) / (n - 1), 0.0)) for i in range(n)]
        return out
    return [Part(asset.primitive, (w, h, d), (0.0, 0.0, 0.0))]

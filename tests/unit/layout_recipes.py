"""Recipes shared by the layout tests: a living room (≥ 12 objects) and a street with two building rows."""

LIVING_ROOM = {
    "kind": "indoor",
    "room": {"size": [6.0, 5.0], "height": 2.7},
    "openings": [{"type": "door", "wall": "south", "offset": 2.0},
                 {"type": "window", "wall": "north", "offset": -1.5, "width": 1.6}],
    "objects": [
        {"id": "sofa", "asset": "sofa", "against": "west"},
        {"id": "coffee", "text": "coffee table", "in_front_of": "sofa"},
        {"id": "armchair", "text": "armchair", "count": 2, "beside": "coffee", "facing": "coffee"},
        {"id": "side", "asset": "side_table", "beside": "sofa", "side": "right"},
        {"id": "lamp", "text": "table lamp", "on": "side"},
        {"id": "tvstand", "asset": "tv_stand", "against": "east"},
        {"id": "tv", "asset": "television", "on": "tvstand"},
        {"id": "shelf", "text": "bookcase", "against": "north", "offset": 1.5},
        {"id": "plant", "text": "houseplant", "count": 2},
        {"id": "painting", "text": "framed picture", "against": "west"},
        {"id": "pendant", "text": "ceiling light", "centred": True},
        {"id": "books", "asset": "books", "on": "coffee"},
        {"id": "vase", "asset": "vase", "on": "coffee"},
        {"id": "floorlamp", "asset": "floor_lamp"},
    ],
}

STREET = {
    "kind": "outdoor",
    "terrain": {"size": [90.0, 70.0]},
    "streets": [{"id": "main", "axis": "x", "width": 8.0, "sidewalk": 3.0}],
    "rows": [{"id": "north", "street": "main", "side": "north", "assets": ["house", "shop", "house"], "count": 6,
              "gap": 3.0},
             {"id": "south", "street": "main", "side": "south", "texts": ["block of flats"], "count": 4, "gap": 4.0}],
    "along": [{"id": "lamps", "street": "main", "text": "street lamp", "spacing": 15.0},
              {"id": "bins", "street": "main", "side": "north", "asset": "trash_can", "count": 3},
              {"id": "cars", "street": "main", "on": "road", "asset": "car", "count": 3}],
    "scatter": [{"id": "trees", "text": "oak tree", "count": 5}],
}

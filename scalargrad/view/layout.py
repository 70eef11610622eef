"""A layered left-to-right layout of a directed acyclic graph of boxes (Sugiyama's method).

1. Columns: each box goes one column right of its furthest predecessor (the longest path);
   a box with no predecessors (an input) is then pulled right, next to its first user.
2. An edge longer than one column gets a point of zero size in each column it crosses, so
   it runs between the boxes there instead of through them.
3. Order within columns: barycenter sweeps, left to right and back (each box moves to the
   mean position of its neighbours in the column just done), keeping the order with the
   fewest crossings, then swaps of neighbours while they remove crossings. An edge enters
   its target at a port. Where the order of ports means something (the arguments of sub or
   div, top to bottom), edges that cross to reach them count extra; where it does not
   (add, mul), the ports are handed out afterwards in the order the edges arrive.
4. Heights: each column's boxes move towards their neighbours' heights, alternately from
   the left and from the right, keeping their order and a gap between them (the nearest
   positions with the gaps: isotonic regression, pool adjacent violators).

Boxes in one column never overlap, and columns are apart by their widest box plus a gap, so
no two boxes overlap. Everything is iterative: no recursion over the graph's depth.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

Point = Tuple[float, float]

NODE_GAP = 18.0         # vertical space between boxes in a column
PASSAGE_GAP = 8.0       # ... between an edge passing through a column and its neighbours
COLUMN_GAP = 44.0       # horizontal space between columns (more where edges climb steeply)
PORT_SPACING = 12.0     # vertical space between the ports of a box (at most)
PORT_CROSSING_COST = 4  # crossings counted for two edges reaching ordered ports swapped
SWEEPS = 12             # barycenter sweeps (each one left to right and back)
BALANCING_PASSES = 10   # height passes (each one left to right and back)


@dataclass(frozen=True)
class Edge:
    source: int
    target: int
    port: int = 0    # where it enters target: 0 at the top
    ports: int = 1   # how many ports target has
    ordered: bool = True  # False: any port will do (the port is only a default)


@dataclass
class Layout:
    centres: List[Point]        # of each box, in the order given
    routes: List[List[Point]]   # of each edge: source's right side, passages, target's port
    columns: List[int]          # of each box
    width: float
    height: float


@dataclass
class _Link:
    """A piece of an edge between neighbouring columns."""
    left: int     # items
    right: int
    offset: float = 0.0    # of the port it enters, from the right item's centre
    ordered: bool = False  # the port's place matters (see PORT_CROSSING_COST)


@dataclass
class _Item:
    """A box, or a passage of an edge through a column (zero width)."""
    width: float
    height: float
    column: int
    box: bool
    order: float = 0.0   # position within its column
    y: float = 0.0


def layout(sizes: Sequence[Tuple[float, float]], edges: Sequence[Edge],
           column_gap: float = COLUMN_GAP) -> Layout:
    """Centres for boxes of the given (width, height), and a route for each edge.

    The edges must form no cycle. Coordinates start at (0, 0) at the top left; columns
    are at least column_gap apart.
    """
    columns = _columns(len(sizes), edges)
    items = [_Item(w, h, c, True) for (w, h), c in zip(sizes, columns)]
    # Each edge as a chain of links between items in neighbouring columns.
    links: List[_Link] = []
    chains: List[List[int]] = []
    for edge in edges:
        chain = [edge.source]
        for column in range(columns[edge.source] + 1, columns[edge.target]):
            items.append(_Item(0.0, 0.0, column, False))
            chain.append(len(items) - 1)
        chain.append(edge.target)
        links.extend(_Link(a, b) for a, b in zip(chain, chain[1:]))
        if edge.ordered:
            links[-1].offset, links[-1].ordered = _port_offset(items[edge.target], edge), True
        chains.append(chain)
    layers = _order(items, links, max(columns, default=0) + 1)
    _hand_out_ports(items, edges, chains, links)
    _heights(items, links, layers)
    return _place(items, links, layers, chains, len(sizes), column_gap)


def _port_offset(target: _Item, edge: Edge) -> float:
    """The height of edge's port from target's centre: PORT_SPACING apart, or closer where
    the ports would not fit in the middle 70% of the box."""
    spacing = min(PORT_SPACING, 0.7 * target.height / max(edge.ports - 1, 1))
    return (edge.port - (edge.ports - 1) / 2) * spacing


def _hand_out_ports(items: List[_Item], edges: Sequence[Edge], chains: List[List[int]],
                    links: List[_Link]) -> None:
    """Ports of unordered edges, by the order in which they arrive (no crossing there)."""
    last = _last_links(chains, links)
    arriving: Dict[int, List[int]] = {}
    for k, edge in enumerate(edges):
        if not edge.ordered:
            arriving.setdefault(edge.target, []).append(k)
    for target, ks in arriving.items():
        ports = sorted(edges[k].port for k in ks)
        ks.sort(key=lambda k: (items[last[k].left].order, edges[k].port))
        for k, port in zip(ks, ports):
            edge = edges[k]
            last[k].offset = _port_offset(items[target], Edge(edge.source, target, port,
                                                              edge.ports))


def _columns(count: int, edges: Sequence[Edge]) -> List[int]:
    """Longest-path columns, with sources pulled right next to their first successor."""
    successors: List[List[int]] = [[] for _ in range(count)]
    indegree = [0] * count
    for edge in edges:
        successors[edge.source].append(edge.target)
        indegree[edge.target] += 1
    column = [0] * count
    ready = [v for v in range(count) if indegree[v] == 0]
    sources = list(ready)
    seen = 0
    while ready:
        v = ready.pop()
        seen += 1
        for w in successors[v]:
            column[w] = max(column[w], column[v] + 1)
            indegree[w] -= 1
            if indegree[w] == 0:
                ready.append(w)
    if seen != count:
        raise ValueError("the graph has a cycle")
    for v in sources:
        if successors[v]:
            column[v] = min(column[w] for w in successors[v]) - 1
    return column


def _neighbours(items: List[_Item], links: List[_Link]
                ) -> Tuple[List[List[_Link]], List[List[_Link]]]:
    """Each item's links to its left, and to its right."""
    left: List[List[_Link]] = [[] for _ in items]
    right: List[List[_Link]] = [[] for _ in items]
    for link in links:
        right[link.left].append(link)
        left[link.right].append(link)
    return left, right


def _order(items: List[_Item], links: List[_Link], count: int) -> List[List[int]]:
    """The items of each column, top to bottom, with few crossings (see the docstring)."""
    layers: List[List[int]] = [[] for _ in range(count)]
    for i, item in enumerate(items):
        layers[item.column].append(i)
    left, right = _neighbours(items, links)
    from_left = [[(link.left, 0.0) for link in near] for near in left]
    from_right = [[(link.right, link.offset) for link in near] for near in right]
    _number(items, layers)
    best, fewest = [list(layer) for layer in layers], _crossings(items, links, count)
    for _ in range(SWEEPS):
        for c in range(1, count):
            _sort_by_barycenter(items, layers[c], from_left)
        for c in range(count - 2, -1, -1):
            _sort_by_barycenter(items, layers[c], from_right)
        crossings = _crossings(items, links, count)
        if crossings < fewest:
            best, fewest = [list(layer) for layer in layers], crossings
        if fewest == 0:
            break
    layers = best
    _number(items, layers)
    _swap_neighbours(items, links, layers)
    return layers


def _number(items: List[_Item], layers: List[List[int]]) -> None:
    for layer in layers:
        for k, i in enumerate(layer):
            items[i].order = float(k)


def _sort_by_barycenter(items: List[_Item], layer: List[int],
                        neighbours: List[List[Tuple[int, float]]]) -> None:
    """Sort layer by its items' mean neighbour position (no neighbours: stay put).

    Port offsets (a few pixels) tip the balance, so that the arguments of an operation
    come in order, top to bottom.
    """
    def key(i: int) -> Tuple[float, float]:
        near = neighbours[i]
        if not near:
            return items[i].order, 0.0
        mean = sum(items[j].order + offset / PORT_SPACING * 0.1 for j, offset in near)
        return mean / len(near), items[i].order

    layer.sort(key=key)
    for k, i in enumerate(layer):
        items[i].order = float(k)


def _segment_crossings(items: List[_Item], segment: List[_Link]) -> int:
    """Crossings of links between the same two columns, ports and their cost counted."""
    ends = sorted((items[link.left].order, items[link.right].order, link.offset, link.ordered)
                  for link in segment)
    total = 0
    for k, (a1, b1, o1, ordered) in enumerate(ends):
        for a2, b2, o2, _ in ends[k + 1:]:
            if a2 > a1 and (b2, o2) < (b1, o1):
                total += PORT_CROSSING_COST if b1 == b2 and ordered else 1
    return total


def _segments(items: List[_Item], links: List[_Link], count: int) -> List[List[_Link]]:
    """The links leaving each column."""
    segments: List[List[_Link]] = [[] for _ in range(count)]
    for link in links:
        segments[items[link.left].column].append(link)
    return segments


def _crossings(items: List[_Item], links: List[_Link], count: int) -> int:
    return sum(_segment_crossings(items, segment)
               for segment in _segments(items, links, count))


def _swap_neighbours(items: List[_Item], links: List[_Link], layers: List[List[int]]) -> None:
    """Swap neighbours within columns while that removes crossings (a few rounds).

    A swap in column c changes only the crossings of the links into and out of it.
    """
    segments = _segments(items, links, len(layers))

    def near(c: int) -> int:
        return sum(_segment_crossings(items, segments[d]) for d in (c - 1, c) if d >= 0)

    def swap(layer: List[int], k: int) -> None:
        layer[k], layer[k + 1] = layer[k + 1], layer[k]
        items[layer[k]].order, items[layer[k + 1]].order = float(k), float(k + 1)

    for _ in range(4):
        improved = False
        for c, layer in enumerate(layers):
            for k in range(len(layer) - 1):
                before = near(c)
                if before == 0:
                    break
                swap(layer, k)
                if near(c) < before:
                    improved = True
                else:
                    swap(layer, k)
        if not improved:
            break


def _gap(upper: _Item, lower: _Item) -> float:
    """The least distance between the centres of two neighbours in a column."""
    gap = NODE_GAP if upper.box and lower.box else PASSAGE_GAP
    return (upper.height + lower.height) / 2 + gap


def _heights(items: List[_Item], links: List[_Link], layers: List[List[int]]) -> None:
    """Each item's y (centre), see step 4 of the module docstring."""
    left, right = _neighbours(items, links)
    for layer in layers:  # start stacked from the top
        y = 0.0
        for k, i in enumerate(layer):
            if k:
                y += _gap(items[layer[k - 1]], items[i])
            items[i].y = y

    def from_left(i: int) -> List[float]:
        return [items[link.left].y - link.offset for link in left[i]]

    def from_right(i: int) -> List[float]:
        return [items[link.right].y + link.offset for link in right[i]]

    for _ in range(BALANCING_PASSES):
        for layer in layers[1:]:
            _settle(items, layer, {i: from_left(i) for i in layer})
        for layer in reversed(layers[:-1]):
            _settle(items, layer, {i: from_right(i) for i in layer})
    for layer in layers:  # finally, each towards all its neighbours
        _settle(items, layer, {i: from_left(i) + from_right(i) for i in layer})


def _settle(items: List[_Item], layer: List[int], wanted: Dict[int, List[float]]) -> None:
    """Move the layer's items as near as the gaps allow to the mean of their wanted heights
    (an item that wants nothing stays), in order: pool adjacent violators on y minus the
    cumulative least gap. Passages weigh more, so that long edges run straight."""
    if not layer:
        return
    floors = [0.0]
    for upper, lower in zip(layer, layer[1:]):
        floors.append(floors[-1] + _gap(items[upper], items[lower]))
    blocks: List[List[float]] = []  # [mean, weight, count] of items pooled together
    for k, i in enumerate(layer):
        ys = wanted[i]
        target = sum(ys) / len(ys) if ys else items[i].y
        weight = (1.0 if items[i].box else 2.0) if ys else 0.5
        blocks.append([target - floors[k], weight, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, weight, count = blocks.pop()
            last = blocks[-1]
            total = last[1] + weight
            last[0] = (last[0] * last[1] + mean * weight) / total
            last[1], last[2] = total, last[2] + count
    k = 0
    for mean, _, count in blocks:
        for _ in range(int(count)):
            items[layer[k]].y = mean + floors[k]
            k += 1


def _place(items: List[_Item], links: List[_Link], layers: List[List[int]],
           chains: List[List[int]], boxes: int, column_gap: float) -> Layout:
    """Columns' x positions (wider gaps where edges climb steeply), shifted to start at 0."""
    top = min((item.y - item.height / 2 for item in items), default=0.0)
    bottom = max((item.y + item.height / 2 for item in items), default=0.0)
    for item in items:
        item.y -= top
    widths = [max((items[i].width for i in layer), default=0.0) for layer in layers]
    climbs = [0.0] * len(layers)
    for link in links:
        c = items[link.left].column
        climbs[c] = max(climbs[c], abs(items[link.right].y + link.offset - items[link.left].y))
    gaps = [min(max(column_gap, climb * 0.3), 3 * column_gap) for climb in climbs]
    lefts, x = [], 0.0
    for width, gap in zip(widths, gaps):
        lefts.append(x)
        x += width + gap
    centres = [(lefts[item.column] + widths[item.column] / 2, item.y) for item in items[:boxes]]
    routes = []
    for chain, link in zip(chains, _last_links(chains, links)):
        first, last = items[chain[0]], items[chain[-1]]
        points: List[Point] = [(lefts[first.column] + (widths[first.column] + first.width) / 2,
                                first.y)]
        for i in chain[1:-1]:
            passage = items[i]
            points.append((lefts[passage.column], passage.y))
            points.append((lefts[passage.column] + widths[passage.column], passage.y))
        points.append((lefts[last.column] + (widths[last.column] - last.width) / 2,
                       last.y + link.offset))
        routes.append(points)
    width = x - gaps[-1] if widths else 0.0
    return Layout(centres, routes, [item.column for item in items[:boxes]], width, bottom - top)


def _last_links(chains: List[List[int]], links: List[_Link]) -> List[_Link]:
    """The link that enters each chain's target (it carries the port offset)."""
    position, result = 0, []
    for chain in chains:
        position += len(chain) - 1
        result.append(links[position - 1])
    return result

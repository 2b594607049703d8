"""Soft-edged shapes and the canvas they are painted on, for the synthetic renderer.

A shape is a signed-distance function of body coordinates `(u, v)` plus its bounds; the canvas
paints it only inside the pixel window those bounds cover, which keeps small limbs cheap while
every frame of a tracklet is drawn at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray
Bounds = tuple[float, float, float, float]  # (u_min, u_max, v_min, v_max)
Shape = tuple[Callable[[Array, Array], Array], Bounds]  # signed distance and its bounds


def soft(signed_distance: Array, pixel: Array) -> Array:
    """Coverage of a shape from its signed distance (negative inside), one pixel wide edge."""
    return np.clip(0.5 - signed_distance / pixel, 0.0, 1.0)


def capsule(a: tuple[Array, Array], b: tuple[Array, Array], radius: float) -> Shape:
    """The segment `a`-`b` (joints `(n, 1, 1)`) thickened by `radius`."""

    def distance(u: Array, v: Array) -> Array:
        du, dv = b[0] - a[0], b[1] - a[1]
        t = np.clip(((u - a[0]) * du + (v - a[1]) * dv) / (du * du + dv * dv + 1e-9), 0, 1)
        return np.hypot(u - a[0] - t * du, v - a[1] - t * dv) - radius

    bounds = (
        min(a[0].min(), b[0].min()) - radius,
        max(a[0].max(), b[0].max()) + radius,
        min(a[1].min(), b[1].min()) - radius,
        max(a[1].max(), b[1].max()) + radius,
    )
    return distance, bounds


def ellipse(centre: tuple[Array, Array], radii: tuple[float, float]) -> Shape:
    """An axis-aligned ellipse (approximate signed distance)."""

    def distance(u: Array, v: Array) -> Array:
        r = np.hypot((u - centre[0]) / radii[0], (v - centre[1]) / radii[1])
        return (r - 1.0) * min(radii)

    cu, cv = np.asarray(centre[0]), np.asarray(centre[1])
    return distance, (
        cu.min() - radii[0],
        cu.max() + radii[0],
        cv.min() - radii[1],
        cv.max() + radii[1],
    )


def box(left: float, right: float, top: float, bottom: float) -> Shape:
    """An axis-aligned rectangle (Chebyshev signed distance)."""

    def distance(u: Array, v: Array) -> Array:
        return np.maximum(np.maximum(left - u, u - right), np.maximum(top - v, v - bottom))

    return distance, (left, right, top, bottom)


class Canvas:
    """Float RGB frames `(n, H, W, 3)` and the body coordinates of every pixel.

    `u` is `(n, 1, W)` and `v` is `(n, H, 1)`; each shape is drawn only inside the pixel
    window its bounds cover in some frame, which keeps small limbs cheap.
    """

    def __init__(
        self, rgb: Array, *, cx: Array, top: Array, hp: Array, direction: float, shade: Array
    ) -> None:
        self.rgb = rgb
        height, width = rgb.shape[1:3]
        self.cx, self.top, self.hp, self.direction = cx, top, hp, direction
        xs = (np.arange(width, dtype=np.float32) + 0.5)[None, None, :]
        ys = (np.arange(height, dtype=np.float32) + 0.5)[None, :, None]
        self.u = (direction * (xs - cx) / hp).astype(np.float32)
        self.v = ((ys - top) / hp).astype(np.float32)
        self.pixel = (1.0 / hp).astype(np.float32)
        self.shade = shade.astype(np.float32)  # `(n, 1, W)`

    def _window(self, bounds: tuple[float, float, float, float]) -> tuple[slice, slice] | None:
        umin, umax, vmin, vmax = bounds
        x = self.cx + self.direction * np.array([umin, umax]) * self.hp
        y = self.top + np.array([vmin, vmax]) * self.hp
        height, width = self.rgb.shape[1:3]
        c0, c1 = max(int(x.min()) - 1, 0), min(int(np.ceil(x.max())) + 2, width)
        r0, r1 = max(int(y.min()) - 1, 0), min(int(np.ceil(y.max())) + 2, height)
        return (slice(r0, r1), slice(c0, c1)) if r0 < r1 and c0 < c1 else None

    def put(
        self,
        shape: Shape,
        colour: Array | Callable[[Array, Array], Array],
        light: float | Callable[[Array, Array], Array] = 1.0,
    ) -> None:
        """Paints `shape` with a flat colour or a colour function of `(u, v)`."""
        distance, bounds = shape
        window = self._window(bounds)
        if window is None:
            return
        rows, cols = window
        u, v = self.u[:, :, cols], self.v[:, rows, :]
        alpha = soft(distance(u, v), self.pixel)[..., None]
        colour = colour(u, v) if callable(colour) else np.asarray(colour, np.float32)
        shade = self.shade[:, :, cols] * (light(u, v) if callable(light) else light)
        block = self.rgb[:, rows, cols]
        block += alpha * (colour * shade[..., None] - block)

    def paint_mask(self, mask: Array, colour: Array) -> None:
        """Paints a full-frame `(n, H, W)` mask, unshaded (occluders)."""
        a = mask[..., None].astype(np.float32)
        self.rgb += a * (np.asarray(colour, np.float32) - self.rgb)

"""What a camera does to the scene it sees: optics, colour response, noise and resolution."""

from __future__ import annotations

import numpy as np
from PIL import Image

from reidlib.data.synthetic.cameras import Camera
from reidlib.data.synthetic.shapes import Array


def camera_response(
    scene: Array, camera: Camera, rng: np.random.Generator, *, direction: float
) -> Array:
    """Optics, colour response, noise and resolution of a camera, `(n, H, W, 3)` uint8.

    In order: lens blur and motion blur (along the walk, `direction`), saturation, a gain per
    channel times a small flicker per frame, clipping, gamma, the brightness offset, sensor
    noise, quantisation, and for a low-resolution camera a downscale and upscale.
    """
    n = scene.shape[0]
    if camera.blur:
        scene = (scene + np.roll(scene, 1, axis=2) + np.roll(scene, 1, axis=1)) / 3
    if camera.motion_blur:
        scene = motion_blur(scene, camera.motion_blur, direction=direction)
    grey = (scene[..., 0] + scene[..., 1] + scene[..., 2])[..., None] * np.float32(1 / 3)
    image = scene * np.float32(camera.saturation) + grey * np.float32(1 - camera.saturation)
    flicker = 1 + 0.03 * rng.standard_normal((n, 1, 1, 1), dtype=np.float32)
    image *= camera.channel_gain.astype(np.float32) * flicker
    np.clip(image, 0, 1, out=image)
    image **= np.float32(camera.gamma)
    image += np.float32(camera.brightness)
    # sensor noise: frames of the camera's noise bank at random shifts
    bank = rng.integers(0, len(camera.noise), n)
    shift = int(rng.integers(0, image.shape[2]))
    image += np.roll(camera.noise[bank], shift, axis=2)
    image *= 255
    image += 0.5
    frames = np.clip(image, 0, 255, out=image).astype(np.uint8)
    return low_resolution(frames, camera.low_res) if camera.low_res < 1 else frames


def motion_blur(frames: Array, length: int, *, direction: float) -> Array:
    """Each pixel averaged with the `length − 1` pixels behind it along the walk (edge pixels
    repeated), `(n, H, W, 3)` float32."""
    trail = (length - 1, 0) if direction > 0 else (0, length - 1)  # behind the walker
    pad = np.pad(frames, ((0, 0), (0, 0), trail, (0, 0)), mode="edge")
    total = np.cumsum(pad, axis=2, dtype=np.float32)
    total = np.concatenate([np.zeros_like(total[:, :, :1]), total], axis=2)
    width = frames.shape[2]
    return (total[:, :, length : length + width] - total[:, :, :width]) / np.float32(length)


def low_resolution(frames: Array, scale: float) -> Array:
    """Frames seen by a low-resolution camera: box-filtered down to `scale` of their size and
    upscaled back bilinearly, `(n, H, W, 3)` uint8."""
    height, width = frames.shape[1:3]
    small = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.stack(
        [
            np.asarray(
                Image.fromarray(f)
                .resize(small, Image.Resampling.BOX)
                .resize((width, height), Image.Resampling.BILINEAR)
            )
            for f in frames
        ]
    )

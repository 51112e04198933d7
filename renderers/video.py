"""MP4 (H.264, yuv420p) writing through imageio-ffmpeg's bundled ffmpeg.

One thread and ffmpeg's bit-exact flags, so the same frames give the same bytes with the same ffmpeg build; a
different build may encode differently, which is why a pack's hash covers its PNG/JSON files, not its videos.
"""

from __future__ import annotations

import numpy as np

__all__ = ["VideoWriter", "encode_mp4"]

OUTPUT_PARAMS = ["-crf", "16", "-preset", "medium", "-threads", "1", "-x264-params", "threads=1",
                 "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1", "-movflags", "+faststart"]


class VideoWriter:
    """Streams (H, W, 3) uint8 frames into an MP4 file."""

    def __init__(self, path, width: int, height: int, fps: float):
        import imageio_ffmpeg

        self._gen = imageio_ffmpeg.write_frames(
            str(path), (int(width), int(height)), fps=float(fps), codec="libx264", pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p", macro_block_size=2, ffmpeg_log_level="error", output_params=OUTPUT_PARAMS)
        self._gen.send(None)

    def write(self, frame: np.ndarray):
        self._gen.send(np.ascontiguousarray(frame, dtype=np.uint8))

    def close(self):
        if self._gen is not None:
            self._gen.close()
            self._gen = None


def encode_mp4(path, frames, fps: float):
    """Write ``frames`` (F, H, W, 3) uint8 (or an iterable of frames) to ``path``."""
    writer = None
    try:
        for f in frames:
            if writer is None:
                writer = VideoWriter(path, f.shape[1], f.shape[0], fps)
            writer.write(f)
    finally:
        if writer is not None:
            writer.close()

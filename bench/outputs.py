"""What each output format keeps of a render: every format encoded from one render's frames, as
its sink receives them, then decoded again. File size; fidelity (PSNR of the decoded frames
against the rendered PNGs); and beside it the change between frames that the format adds to the
render's own (palette and dither shimmer). Then the MP4 colour chart: each patch as the ffmpeg
command line decodes it, for a tagged BT.709 file and for an untagged BT.601 one (what animator
wrote before) read as BT.709, as most players read HD. Prints tables and writes
bench/results/outputs.json.

    python bench/outputs.py [--preset melt] [--size 256] [--frames DIR]   # DIR: PNG frames already rendered
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FORMATS = [{"format": "mp4"}, {"format": "webm"}, {"format": "webm", "codec": "av1"}, {"format": "mov"},
           {"format": "webp"}, {"format": "apng"}, {"format": "gif"}, {"format": "gif", "palette": "scene"}]


def rendered_frames(preset: str, size: int, out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "animator", "render", preset, "--set", f"size={size}", "--set",
                    "outputs=[{format: png}]", "--out", str(out), "--quiet"], check=True, cwd=out)
    (folder,) = out.glob("*_frames")
    return folder


def decoded(path: Path) -> list[np.ndarray]:
    """Every frame as RGB: Pillow for WebP and GIF (this PyAV's FFmpeg has no animated WebP demuxer), else PyAV."""
    if path.suffix in (".webp", ".gif"):
        from PIL import Image

        with Image.open(path) as image:
            return [np.asarray((image.seek(i), image.convert("RGB"))[1]) for i in range(image.n_frames)]
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def fidelity(frames: list[np.ndarray], copies: list[np.ndarray]) -> dict:
    source = [f.astype(float) for f in frames]
    copies = [c.astype(float) for c in copies]
    mse = np.array([np.mean((c - f) ** 2) for c, f in zip(copies, source, strict=True)])
    added = [np.abs(copies[i] - copies[i - 1]).mean() - np.abs(source[i] - source[i - 1]).mean() for i in range(1, len(source))]
    if not mse.any():  # lossless
        return {"psnr_db": None, "lowest_psnr_db": None, "added_change": float(np.mean(added))}
    db = 10 * np.log10(255 ** 2 / np.maximum(mse, 1e-10))
    return {"psnr_db": float(db.mean()), "lowest_psnr_db": float(db.min()), "added_change": float(np.mean(added))}


def encode_all(frames: list[np.ndarray], out: Path) -> dict:
    from animator.media.frame import Frame
    from animator.media.sink import encoding
    from animator.preset import preset_from_dict
    from animator.render.outputs import make_sink

    results = {}
    for i, output in enumerate(FORMATS):
        label = ", ".join(f"{k}: {v}" for k, v in output.items())
        preset = preset_from_dict({"name": f"out{i}", "input": "chelsea.png", "outputs": [output]}, ROOT / "samples")
        sink = make_sink(preset.outputs[0], out, f"out{i}", Fraction(24), None, single=False)
        with encoding([sink]) as put:
            for index, image in enumerate(frames):
                put(Frame(index, Fraction(index, 24), image))
        results[label] = {"kib": sink.path.stat().st_size / 1024, **fidelity(frames, decoded(sink.path))}
    return results


PATCHES = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255), (200, 120, 40), (0, 0, 0),
           *[(v, v, v) for v in range(16, 256, 32)], (255, 255, 255)]


def chart_image(width: int = 1280, height: int = 720, columns: int = 6, rows: int = 3) -> tuple[np.ndarray, list]:
    """Flat patches (primaries, secondaries, a skin tone, a grey ramp) and each patch's inside."""
    image, boxes = np.zeros((height, width, 3), np.uint8), []
    pw, ph = width // columns, height // rows
    for i, colour in enumerate(PATCHES):
        top, left = (i // columns) * ph, (i % columns) * pw
        image[top:top + ph, left:left + pw] = colour
        boxes.append((slice(top + 16, top + ph - 16), slice(left + 16, left + pw - 16)))
    return image, boxes


def colour_chart(out: Path) -> dict:
    """The worst patch error (levels) of each file, decoded by the ffmpeg command line."""
    import av
    import imageio_ffmpeg

    from animator.media.frame import Frame
    from animator.media.sink import Mp4Sink, encoding

    chart, boxes = chart_image()
    with encoding([Mp4Sink(out / "tagged.mp4", Fraction(24))]) as put:
        put(Frame(0, Fraction(0), chart))
    with av.open(str(out / "untagged.mp4"), "w") as container:  # PyAV's own conversion, no tags
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = chart.shape[1], chart.shape[0], "yuv420p"
        container.mux(stream.encode(av.VideoFrame.from_ndarray(chart, format="rgb24")))
        container.mux(stream.encode(None))

    def errors(path: Path, *read_as: str) -> dict:
        raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), *read_as, "-frames:v", "1",
                              "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
        image = np.frombuffer(raw, np.uint8).reshape(chart.shape).astype(int)
        return {str(c): int(np.abs(image[box] - c).max()) for c, box in zip(PATCHES, boxes)}

    return {"tagged BT.709": errors(out / "tagged.mp4"),
            "untagged BT.601, read as BT.709": errors(out / "untagged.mp4", "-vf", "scale=in_color_matrix=bt709")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="melt")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--frames", type=Path, help="a folder of PNG frames already rendered")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from animator.media.image import read_image
    from report import save  # bench/ is the script's folder, first on sys.path

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.frames or rendered_frames(args.preset, args.size, Path(tmp))
        frames = [read_image(p) for p in sorted(folder.glob("*.png"))]
        formats = encode_all(frames, Path(tmp))
        chart = colour_chart(Path(tmp))
    height, width = frames[0].shape[:2]
    table = Table(title=f"{len(frames)} frames at {width}x{height}, encoded from {folder.name}")
    for column in ("output", "size", "PSNR", "lowest PSNR", "change added"):
        table.add_column(column, justify="left" if column == "output" else "right")
    for label, r in formats.items():
        db = ("lossless",) * 2 if r["psnr_db"] is None else (f"{r['psnr_db']:.1f} dB", f"{r['lowest_psnr_db']:.1f} dB")
        table.add_row(label, f"{r['kib']:.0f} KiB", *db, f"{r['added_change']:+.2f} /255")
    console = Console()
    console.print(table)
    for name, errors in chart.items():
        console.print(f"colour chart, {name}: worst patch {max(errors.values())} levels; {errors}")
    save("outputs", {"frames": len(frames), "size": [width, height], "formats": formats, "colour_chart": chart})


if __name__ == "__main__":
    main()

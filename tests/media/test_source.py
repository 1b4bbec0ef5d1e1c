from fractions import Fraction

import numpy as np
import pytest

from animator.errors import MediaError
from animator.media.frame import fit_size, to_image, to_tensor
from animator.media.source import ImageFolderSource, open_source, read_image
from tests.conftest import MEDIA, SAMPLES


def test_images_read_as_rgb(chelsea):
    assert chelsea.shape == (300, 451, 3) and chelsea.dtype == np.uint8
    assert chelsea[..., 0].mean() > chelsea[..., 2].mean()  # a ginger cat: more red than blue
    grey = read_image(SAMPLES / "brick.png")
    assert grey.shape == (512, 512, 3)


@pytest.mark.parametrize("content, message", [(None, "file not found"), (b"not an image", "not a readable image")])
def test_bad_images_are_media_errors(tmp_path, content, message):
    path = tmp_path / "x.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(MediaError, match=message):
        open_source(path)


def test_video_source_keeps_rate_and_yields_frames_in_order():
    source = open_source(MEDIA / "chaplin.mp4")
    assert source.fps == Fraction(25)
    frames = []
    for frame in source:
        frames.append(frame)
        if len(frames) == 30:
            break
    assert [f.index for f in frames] == list(range(30))
    assert frames[25].time == 1 and frames[0].image.shape == (360, 640, 3)
    assert np.array_equal(source.first(), frames[0].image)


def test_not_a_video_is_a_media_error(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00" * 1000)
    with pytest.raises(MediaError, match="clip.mp4: not a readable video"):
        open_source(path)


def test_image_folder(tmp_path, chelsea):
    import cv2

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), np.roll(chelsea, 10 * i, axis=1)[..., ::-1])
    frames = list(ImageFolderSource(tmp_path))
    assert len(frames) == 3 and np.array_equal(frames[2].image, np.roll(chelsea, 20, axis=1))
    (tmp_path / "empty").mkdir()
    with pytest.raises(MediaError, match="empty: folder holds no images"):
        ImageFolderSource(tmp_path / "empty")


def test_sizes_and_tensor_round_trip(chelsea):
    assert fit_size(451, 300, 384) == (384, 256)
    assert fit_size(300, 451, 100) == (64, 96)  # sides rounded to multiples of 8
    assert np.array_equal(to_image(to_tensor(chelsea)), chelsea)

"""What a render may replace, what its record calls up to date, and what a resume trusts: small
cases a mutation audit of render/outputs.py, record.py and resume.py found untested."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import PRESETS, SAMPLES
from tests.faults.test_cases import write

BASE = f"name: base\ninput: {SAMPLES / 'chelsea.png'}\nsize: 32\niterate: {{steps: 1}}\noutputs: [{{format: mp4}}]\n"
STYLIZE = ["stylize", str(SAMPLES / "chelsea.png"), "--style", "3", "--size", "32", "--quiet"]


def test_a_text_file_where_stylize_writes_its_picture_stays(tmp_path, capsys):
    """With no record, what a file holds is all that makes it a picture of ours to replace: notes
    saved as x.png are the user's."""
    from animator.cli import main

    notes = tmp_path / "x.png"
    notes.write_text("my notes")
    assert main([*STYLIZE, "-o", str(notes)]) == 2
    assert "x.png: is in the way" in capsys.readouterr().err and notes.read_text() == "my notes"


def test_a_link_where_stylize_writes_its_picture_stays_a_link(tmp_path, capsys):
    """A link of the user's to a picture of theirs is not a picture of ours: replacing it drops the link."""
    from animator.cli import main

    picture = tmp_path / "kept" / "mine.png"
    picture.parent.mkdir()
    Image.new("RGB", (8, 8), "red").save(picture)
    link = tmp_path / "x.png"
    link.symlink_to(picture)
    assert main([*STYLIZE, "-o", str(link)]) == 2
    assert "x.png: is in the way" in capsys.readouterr().err
    assert link.is_symlink() and Image.open(picture).convert("RGB").getpixel((0, 0)) == (255, 0, 0)


def test_an_output_rewritten_in_place_while_the_render_runs_stays(tmp_path):
    """The file that stood there at the start (the same inode) but written over by the user while
    the render ran is theirs now: its size and last change say so, not its inode alone."""
    from animator.errors import MediaError
    from animator.preset import load_preset
    from animator.render.engine import load

    out = tmp_path / "out"
    load(load_preset(write(tmp_path, BASE))).run(out)
    video = out / "base.mp4"
    inode = video.stat().st_ino
    mine = (SAMPLES / "pan.mp4").read_bytes()

    def rewritten_in_place():
        with open(video, "r+b") as file:  # the same file, its content the user's
            file.write(mine)
            file.truncate()

    with pytest.raises(MediaError, match="base.mp4: came in the place of this render's output while it ran"):
        load(load_preset(write(tmp_path, BASE.replace("steps: 1", "steps: 2")))).run(out, started=rewritten_in_place)
    assert video.stat().st_ino == inode and video.read_bytes() == mine


def test_a_file_saved_where_a_cut_short_publish_named_an_output_is_not_recorded_as_ours(tmp_path):
    """A publish cut short names what it was moving, with what each may hold; a file of the user's
    saved there since holds something else, and the next record must not name it as ours."""
    from animator.render.outputs import still_ours

    mine = tmp_path / "base.gif"
    Image.new("RGB", (8, 8), "red").save(mine)
    assert still_ours({mine: frozenset(["0" * 64])}) == {}
    assert list(still_ours({mine: None})) == [mine]  # an older publish's note: ours whatever it holds


def test_a_record_whose_output_is_gone_is_not_up_to_date(tmp_path):
    from animator.preset import load_preset
    from animator.render.engine import load
    from animator.render.record import up_to_date

    out = tmp_path / "out"
    preset = load_preset(write(tmp_path, BASE.replace("[{format: mp4}]", "[{format: mp4}, {format: gif}]")))
    load(preset).run(out)
    assert up_to_date(preset, out) is not None
    (out / "base.gif").unlink()
    assert up_to_date(preset, out) is None


def test_a_link_to_a_record_is_not_a_record_of_ours(tmp_path):
    from animator.render.record import is_record

    record = tmp_path / "elsewhere.json"
    record.write_text(json.dumps({"animator": "0", "fingerprint": "x", "outputs": []}))
    (tmp_path / "base.json").symlink_to(record)
    assert is_record(record) and not is_record(tmp_path / "base.json")


def test_a_state_that_does_not_match_its_checksum_is_not_resumed_from(tmp_path, caplog):
    """A state file that still loads but holds other values (a flipped bit in its numbers) would
    resume the render into other frames: its checksum is what tells."""
    from animator.media.frame import Frame
    from animator.preset import load_preset, parse_overrides
    from animator.render.resume import Checkpoint

    preset = load_preset(PRESETS / "melt.yaml", parse_overrides(["size=32"]))
    stored = Checkpoint(tmp_path / "work", preset)
    for i in range(2):
        stored.save(Frame(i, 0, np.full((8, 8, 3), i, np.uint8)), torch.full((1, 3, 8, 8), float(i)))
        stored.close()
    torch.save(torch.full((1, 3, 8, 8), 99.0), tmp_path / "work" / "state-000001.pt")  # loads, and is not frame 1's
    index, state = Checkpoint(tmp_path / "work", preset).load()
    assert index == 0 and float(state.max()) == 0 and "state-000001.pt: cannot be read" in caplog.text


def test_a_file_changed_to_other_bytes_of_the_same_size_hashes_anew(tmp_path):
    """Hashes are kept per process by path, size and last change: an output edited by hand to as
    many bytes is not the one the record names."""
    from animator.render.record import file_hash

    output = tmp_path / "base.gif"
    output.write_bytes(b"GIF8 written by the render")
    before = file_hash(output)
    output.write_bytes(b"GIF8 edited later by hand!")
    os.utime(output, ns=(output.stat().st_atime_ns, output.stat().st_mtime_ns + 1_000_000))
    assert file_hash(output) != before

"""The audio: key: which names schedules may read, when they are checked, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from animator.errors import PresetError
from animator.media.audio import decode_audio
from animator.preset import preset_from_dict
from animator.render.plan import Plan
from tests.conftest import SAMPLES

GROOVE = SAMPLES / "groove.m4a"


def load(audio: bool = True, **keys):
    raw = {"name": "p", "input": str(SAMPLES / "chelsea.png"), "method": "multistyle", **keys}
    return preset_from_dict({**raw, "audio": str(GROOVE)} if audio else raw, Path.cwd())


def test_an_unknown_variable_names_itself_and_lists_the_known_ones():
    with pytest.raises(PresetError) as error:
        load(iterate={"blend": "0.2 + 0.1 * lowd"})
    assert str(error.value) == ("<preset>: iterate.blend: schedule '0.2 + 0.1 * lowd': unknown name 'lowd'; known names: "
                                "t, T, s, loud, onset, beat, bass, mid, high, pi, e, tau (at character 13)")
    with pytest.raises(PresetError, match=r"iterate.motion.zoom: schedule '0: 1, 24: \(1 \+ beat\)': unknown name "
                                          r"'beat': loud, onset, beat, bass, mid, high need an audio file \(audio: at "
                                          r"the top of the preset\); known names: t, T, s, pi, e, tau \(at character 16\)"):
        load(audio=False, iterate={"motion": {"zoom": "0: 1, 24: (1 + beat)"}})


def test_audio_features_are_checked_at_every_frame_once_the_plan_has_heard_them():
    preset = load(iterate={"steps": "auto", "blend": "0.6 + 0.5 * loud"})  # loads: the sound is not known yet
    with pytest.raises(PresetError, match=r"iterate.blend: expected values between 0 and 1, found 1.0\d* at frame \d+"):
        Plan(preset)
    plan = Plan(load(iterate={"steps": "auto", "blend": "0.2 + 0.3 * loud", "motion": {"zoom": "1 + 0.02 * beat"}},
                     method={"name": "multistyle", "style": {3: "beat", 12: "1 - beat"}}))
    assert plan.frame_count == round(decode_audio(plan.preset.audio.file).seconds * 24) and plan.features.count == plan.timeline.steps


@pytest.mark.parametrize("keys, message", [
    ({"iterate": {"steps": "auto"}, "audio": None}, r"iterate.steps: auto renders as long as the audio lasts: expected "
                                                    r"an audio file"),
    ({"mode": "still", "method": "multistyle"}, r"audio: music moves iterate and video renders"),
    ({"audio": {"file": str(GROOVE), "half_life": "0.1 + 0.1 * beat"}}, r"audio.half_life: schedule '0.1 \+ 0.1 \* "
                                                                        r"beat': the beat's half-life cannot read"),
    ({"audio": {"file": str(GROOVE), "start": 30}}, r"groove.m4a: audio.start 30 s is past the end of the sound \(25.5"),
])
def test_audio_mistakes_are_refused(keys, message):
    raw = {"name": "p", "input": str(SAMPLES / "chelsea.png"), "audio": str(GROOVE), **keys}
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(Exception, match=message) as error:
        Plan(preset_from_dict(raw, Path.cwd()))
    assert error.type.__name__ in ("PresetError", "MediaError")


def test_a_chunk_of_a_split_video_hears_the_audio_at_its_own_frames():
    from animator.preset.resolve import Part, chunk
    from tests.conftest import MEDIA

    whole = load(mode="video", input=str(MEDIA / "chaplin.mp4"), video={"duration": 6.0})
    part = chunk(whole, 1, start=4.0, duration=2.0)  # frames 100-149 of the 25 fps clip
    plan = Plan(part, Part(100, 150))
    assert plan.timeline.first == 100 and plan.frame_count == 50 and part.audio == whole.audio
    heard, heard_part = Plan(whole).features, plan.features
    for name, values in heard.values.items():
        assert values == pytest.approx(heard_part.values[name], abs=1e-6)
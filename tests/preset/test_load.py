import re
from fractions import Fraction
from pathlib import Path

import pytest

from animator.errors import PresetError
from animator.preset import load_preset, parse_overrides
from animator.preset.resolve import temporal_settings
from animator.preset.schema import NUM_BUILTIN_STYLES
from tests.conftest import PRESETS, SAMPLES


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def minimal(extra: str = "") -> str:
    return f"name: t\ninput: {SAMPLES / 'chelsea.png'}\n{extra}"


@pytest.mark.parametrize("path", sorted(PRESETS.glob("*.yaml")), ids=lambda p: p.stem)
def test_bundled_presets_validate(path):
    preset = load_preset(path)
    assert preset.name == path.stem and preset.description
    assert preset.input.is_file()


def test_defaults_and_relative_paths(tmp_path):
    (tmp_path / "in.png").write_bytes((SAMPLES / "chelsea.png").read_bytes())
    preset = load_preset(write(tmp_path, "name: t\ninput: in.png\n"))
    assert preset.input == (tmp_path / "in.png").resolve()
    assert (preset.mode, preset.style, preset.size, preset.method.name) == ("iterate", "self", 384, "arbitrary")
    assert preset.iterate.steps == 120 and preset.frame_count == 121
    assert [o.format for o in preset.outputs] == ["mp4", "gif"]


@pytest.mark.parametrize("method, temporal, weight", [
    ("arbitrary", "{}", 0.7), ("multistyle", "{}", 0.6), ("multistyle", "{mode: blend}", 0.7),
    ("multistyle", "{weight: 0.85}", 0.85), ("arbitrary", "{weight: null}", 0.7), ("gatys", "{}", 0.7)])
def test_a_temporal_weight_left_null_is_the_networks_measured_best(tmp_path, method, temporal, weight):
    style = f"style: {SAMPLES / 'brick.png'}\n" if method == "gatys" else ""  # gatys paints a frame as itself from itself
    preset = load_preset(write(tmp_path, minimal(f"mode: video\n{style}method: {method}\nvideo: {{temporal: {temporal}}}\n")))
    assert temporal_settings(preset).weight == weight
    assert temporal_settings(preset).mode == preset.video.temporal.mode  # the rest as written


def test_values_are_typed(tmp_path):
    preset = load_preset(write(tmp_path, minimal(
        "method: {name: multistyle, style: {3: 1, 12: 3}}\n"
        "outputs: [{format: mp4, fps: 30000/1001}, {format: gif, fps: 12.5}]\n"
    )))
    assert preset.outputs[0].fps == Fraction(30000, 1001) and preset.outputs[1].fps == Fraction(25, 2)
    assert len(preset.method.style) == NUM_BUILTIN_STYLES
    assert preset.method.style[3] == pytest.approx(0.25) and preset.method.style[12] == pytest.approx(0.75)


def test_style_images_with_weights(tmp_path):
    preset = load_preset(write(tmp_path, minimal(
        f"style: [{SAMPLES / 'brick.png'}, {{image: {SAMPLES / 'coffee.png'}, weight: 0.25}}]\n"
    )))
    assert [(s.image.name, s.weight) for s in preset.style] == [("brick.png", 1.0), ("coffee.png", 0.25)]


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("iterate:\n  stpes: 3\n", r"p.yaml:4: iterate.stpes: unknown key \(did you mean steps\?\)"),
        ("iterate:\n  steps: many\n", r"p.yaml:4: iterate.steps: expected auto or a whole number between 1 and 100000, found 'many'"),
        ("iterate:\n  blend: 1.5\n", r"p.yaml:4: iterate.blend: expected a number between 0 and 1, found 1.5"),
        ("outputs:\n  - {format: mkv}\n", r"p.yaml:4: outputs\[0\].format: expected one of mp4, webm, mov, webp, apng, gif, png, found 'mkv'"),
        ("outputs:\n  - {format: mp4, fps: 0}\n", r"outputs\[0\].fps: expected a frame rate between 0 and 240, found 0"),
        # rounded to 0 first, and said to be outside 0 to 240
        ("outputs:\n  - {format: mp4, fps: 0.0001}\n", r"fps: expected a frame rate of 1/1001 or more \(a frame in 1001 s\)"),
        ("outputs:\n  - {format: mp4, fps: 1/2002}\n", r"fps: expected a frame rate of 1/1001 or more"),  # was 0: 24 fps
        ("outputs:\n  - {format: gif, fps: 0.001}\n", r"outputs\[0\].fps: a GIF's frame lasts at most 655.35 s"),  # it wrapped
        ("method: {name: gatsby}\n", r"method.name: expected one of arbitrary, multistyle, gatys, found 'gatsby'"),
        ("method: {name: multistyle, style: 26}\n", r"method.style: expected a style index 0..25"),
        (f"method: multistyle\nstyle: {SAMPLES / 'brick.png'}\n", r"style: multistyle paints its 26 built-in styles"),
        ("style: nowhere.png\n", r"p.yaml:3: style\[0\].image: file not found: .*nowhere.png"),
        ("size: 20\n", r"size: expected a whole number between 32 and 8192, found 20"),
        ("iterate: {motion: {translate_x: 1e20}}\n", r"iterate.motion.translate_x: expected values between -8192 and 8192, found 1e\+20 at frame 0"),
        ("method: {name: gatys, gram_transform: {name: eigen-randomize, low: 1e300, high: 1e300}}\n",
         r"method.gram_transform.low: expected values between 0 and 1000000000000, found 1e\+300 at frame 0"),  # NaN frames, after a render
        ("outputs:\n", r"p.yaml:3: outputs: expected a list \(or one item\), found null"),  # "outputs[0]: ... found None"

        ("style: []\n", r"p.yaml:3: style: expected self or at least one style image, found an empty list"),
        ("seed: 20000000000000\n", r"p.yaml:3: seed: expected a whole number between 0 and 4294967295, found 20000000000000"),
        ("method: {name: gatys, style_layers: [], content_layers: []}\n", r"p.yaml:3: method: no loss is active"),
        ("name2: x\n", r"name2: unknown key \(did you mean name\?\)"),
        ("method: {name: gatys, style_layers: [relu9_1]}\n", r"method.style_layers\[0\]: expected a VGG19 layer"),
        ("method: {name: gatys, style_weight: -1}\n", r"method.style_weight: expected a number between 0 and 1000000000000, found -1"),
        ("method: {name: gatys, gram_transform: {name: swirl}}\n", r"method.gram_transform.name: expected one of none,"),
        ("size: 1024\nmethod: {name: gatys, representation: spatial}\n", r"size: a spatial style needs size <= 512"),
        ("method: {name: gatys, representation: local, gram_transform: sparse}\n", r"gram_transform: transforms Gram"),
        ("method: {name: gatys, gram_transform: {name: single, layers: [relu4_2]}}\n", r"layers: expected style layers"),
        ("still: {objective: texture}\n", r"still.objective: texture needs method gatys, found arbitrary"),
        ("iterate:\n  blend: '0: 0.2, 60 0.5'\n",
         r"p.yaml:4: iterate.blend: schedule '0: 0.2, 60 0.5': expected FRAME: VALUE \(at character 9\)"),
        ("iterate:\n  motion: {zoom: '1 + t.real'}\n", r"p.yaml:4: iterate.motion.zoom: schedule .*attribute access not allowed"),
        ("iterate:\n  steps: 60\n  blend: '0: 0.2, 60: 1.4'\n",
         r"p.yaml:5: iterate.blend: expected values between 0 and 1, found 1.02 at frame 41"),
        # a value printed short read as the bound it is past: "between 0.1 and 10, found 0.1"
        ("iterate:\n  steps: 10\n  motion: {zoom: '0: 1, 10: 0'}\n",
         r"iterate.motion.zoom: expected values between 0.1 and 10, found 0.09999999999999998 at frame 9"),
        ("iterate:\n  blend: 'clamp(1 / (t - 3), 0, 1)'\n", r"p.yaml:4: iterate.blend: .* cannot be computed at frame 3 \(float division by zero\)"),
        ("iterate:\n  blend: [0.5]\n", r"iterate.blend: expected a number or a schedule such as"),
        ("iterate: {color: {match: lab, strength: '0: 1, 10: -1'}}\n", r"iterate.color.strength: expected values between 0 and 1"),
        ("method: {name: multistyle, style: {3: '0: 1, 10: 0'}}\n", r"method.style: the weights are all 0 at frame 10"),
        (f"style: [{{image: {SAMPLES / 'brick.png'}, at: 0}}, {SAMPLES / 'coffee.png'}]\n",
         r"style\[1\].at: a morph needs `at` on every style image"),
        (f"style: [{{image: {SAMPLES / 'brick.png'}, at: 9}}, {{image: {SAMPLES / 'coffee.png'}, at: 3}}]\n",
         r"style\[1\].at: expected frames in increasing order, found 3 after 9"),
        (f"style: [{{image: {SAMPLES / 'brick.png'}, at: 4}}, {{image: {SAMPLES / 'coffee.png'}, at: 4}}]\n",
         r"style\[1\].at: expected frames in increasing order, found 4 after 4"),  # two images full at one frame
        ("video: {fps: 30}\n", r"p.yaml:3: video.fps: is a folder of images' frame rate; a file input keeps its own"),
        ("video: {temporal: {passes: 3}}\n", r"video.temporal.passes: is for the optimization method \(gatys\); arbitrary"),
        ("method: {name: gatys, steps: 4}\nvideo: {temporal: {passes: 5}}\n",
         r"video.temporal.passes: shares method.steps among the passes: expected at most 4, found 5"),
        ("mode: video\nmethod: gatys\nvideo: {temporal: {passes: 2, flow: none}}\n", r"video.temporal.passes: needs flow"),
        # how the networks blend: gatys rendered the same frames whatever they said
        ("method: gatys\nvideo: {temporal: {mode: blend}}\n", r"video.temporal.mode: is for the networks"),
        # keys that changed nothing: the loop's outside iterate mode, colour coherence's without a match
        ("mode: still\nmethod: multistyle\niterate: {blend: 0.3}\n", r"iterate.blend: is for iterate mode; this preset's mode is still"),
        ("iterate: {color: {reference: input}}\n", r"iterate.color.reference: is for colour coherence"),
        ("video: {duration: 2}\n", r"video.duration: is for video mode; this preset's mode is iterate"),
        # the keys of a choice not taken: the render went on without them
        ("still: {objective: texture}\nmethod: gatys\n", r"still.objective: is for still mode; this preset's mode is iterate"),
        (f"mode: still\nstyle: [{SAMPLES / 'brick.png'}]\nmethod: gatys\nstill: {{layer: relu3_1}}\n",
         r"still.layer: is for objective reconstruct; objective is transfer"),
        ("method: {name: gatys, lr: 0.1}\n", r"method.lr: is for optimizer adam; optimizer is lbfgs"),
        ("method: {name: gatys, window: 2}\n", r"method.window: is for representation local; representation is gram"),
        ("method: {name: gatys, gram_transform: {name: sparse, low: 0.5}}\n",
         r"method.gram_transform.low: is for name eigen-randomize; name is sparse"),
        ("method: {name: gatys, gram_transform: {name: eigen-randomize, amplitude: 2}}\n",
         r"method.gram_transform.amplitude: is for name sparse or single; name is eigen-randomize"),
        ("mode: video\nvideo: {temporal: {flow: farneback, flow_preset: fast}}\n",
         r"video.temporal.flow_preset: is for flow dis; flow is farneback"),
        ("mode: video\nvideo: {temporal: {mode: blend, output_weight: 0.3}}\n",
         r"video.temporal.output_weight: is for mode features; mode is blend"),
        # the keys of a setting switched off in the file
        ("mode: video\nvideo: {temporal: {flow: none, weight: 0.5}}\n",
         r"p.yaml:4: video.temporal.weight: is for temporal consistency; flow is none"),
        ("mode: video\nvideo: {temporal: {flow: none, pan_lock: false}}\n",
         r"video.temporal.pan_lock: is for temporal consistency; flow is none"),
        ("iterate: {interpolate: 1, interpolate_with: crossfade}\n", r"iterate.interpolate_with: is for in-betweens"),
        ("method: {name: gatys, gram_transform: {name: none, low: 0.5}}\n", r"method.gram_transform.low: is for a Gram transform"),
        ("method: {name: gatys, gram_transform: {layers: [relu3_1]}}\n",
         r"method.gram_transform.layers: is for a Gram transform or zero_others"),
        # a loop's controls at 0 throughout, motion that moves nothing, a lone image's share
        (f"iterate: {{anchor: {{image: {SAMPLES / 'brick.png'}}}}}\n", r"iterate.anchor.image: is for the anchor's pull; .*amount is 0"),
        (f"iterate: {{inject: {{image: {SAMPLES / 'brick.png'}}}}}\n", r"iterate.inject.image: is for injecting a style"),
        ("iterate: {noise: {scale: 4, octaves: 8}}\n", r"iterate.noise.scale: is for noise; iterate.noise.amount is 0"),
        ("iterate: {sharpen: {radius: 9}}\n", r"iterate.sharpen.radius: is for sharpening"),
        ("iterate: {motion: {border: wrap}}\n", r"iterate.motion.border: is for motion; iterate.motion moves nothing"),
        # switched off by a schedule at 0 throughout, as a 0 written as one: the frames were the same without the keys
        (f"iterate: {{inject: {{image: {SAMPLES / 'brick.png'}, weight: '0 * t'}}}}\n",
         r"iterate.inject.image: is for injecting a style; iterate.inject.weight is 0 at every frame"),
        (f"iterate: {{steps: 10, anchor: {{image: {SAMPLES / 'brick.png'}, amount: {{keyframes: '0: 0, 20: 0.5', interpolation: step}}}}}}\n",
         r"iterate.anchor.image: is for the anchor's pull; iterate.anchor.amount is 0 at every frame"),
        ("iterate: {noise: {amount: '0 * t', octaves: 8}}\n", r"iterate.noise.octaves: is for noise; .* is 0 at every frame"),
        ("iterate: {sharpen: {amount: {keyframes: '0: 0, 9: 0', interpolation: cubic}, radius: 9}}\n",
         r"iterate.sharpen.radius: is for sharpening; iterate.sharpen.amount is 0 at every frame"),
        ("iterate: {motion: {angle: '0 * sin(t)', zoom: '1 + 0 * t', border: wrap}}\n",
         r"iterate.motion.border: is for motion; iterate.motion moves nothing"),
        # at blend 0 every frame is the last one moved: noise on what the method is given was never seen
        ("iterate: {blend: 0, noise: {amount: 0.5}}\n", r"p.yaml:3: iterate.noise.amount: is for the method's picture; "
                                                         r"iterate.blend is 0$"),
        ("iterate: {blend: '0 * t', color: {noise: 0.2}}\n", r"iterate.color.noise: .*iterate.blend is 0 at every frame"),
        (f"iterate: {{blend: 0, inject: {{image: {SAMPLES / 'brick.png'}, weight: 0.5}}}}\n", r"iterate.inject.image: is for"),
        ("iterate: {blend: 0}\noriginal_colors: 0.5\n", r"original_colors: is for the method's picture; iterate.blend is 0"),
        # colour matched at strength 0: the frames' colours as they were
        ("iterate: {color: {match: lab, strength: 0}}\n", r"iterate.color.match: is for colour coherence; "
                                                            r"iterate.color.strength is 0$"),
        ("iterate: {color: {match: histogram, strength: '0 * t'}}\n", r"iterate.color.match: .*strength is 0 at every frame"),
        (f"style: [{{image: {SAMPLES / 'brick.png'}, weight: 0.05}}]\n", r"style\[0\].weight: is a share among style images"),
        (f"style: [{{image: {SAMPLES / 'brick.png'}, at: 30}}]\n",
         r"style\[0\].at: is the frame a morph hands the style to this image, and this is the only one"),
        ("iterate: {blend: {keyframes: '0.3 + 0.1 * sin(t)', interpolation: cubic}}\n",
         r"iterate.blend: .*interpolation cubic is for keyframes \(frame: value, ...\); this is an expression in t"),
        # music that nothing hears: the frames were the same with it or without
        (f"audio: {{file: {SAMPLES / 'groove.m4a'}, half_life: 5}}\niterate: {{blend: '0.2 + 0.2 * loud'}}\n",
         r"audio.half_life: is how fast `beat` falls after each beat, and no schedule reads beat"),
        (f"audio: {{file: {SAMPLES / 'groove.m4a'}}}\noutputs: [{{format: gif}}]\n",
         r"audio: nothing hears it: no schedule reads its features, no output carries sound \(mp4, webm, mov\)"),
        # the optimization method's choices that left the picture as it was, or took no notice of a key
        ("method: {name: gatys, content_weight: 0, style_layer_weights: [0, 0, 0, 0, 0]}\n",
         r"method.style_layer_weights: all 0 and no content term: no loss is active at frame 0"),
        ("mode: still\nmethod: {name: gatys, style_layer_weights: [0, 0, 0, 0, 0]}\nstill: {objective: texture}\n",
         r"method.style_layer_weights: all 0 and no content term: no loss is active$"),  # "at frame 0" of a still
        ("method: {name: gatys, gram_transform: {name: sparse, zero_others: true}}\n",
         r"method.gram_transform.zero_others: zeroes the style layers not in gram_transform.layers"),
        ("method: {name: gatys, gram_transform: {name: sparse, zero_others: true, layers: [relu5_1, relu4_1, relu3_1, "
         "relu2_1, relu1_1]}}\n", r"method.gram_transform.zero_others: zeroes the style layers not in "
                                  r"gram_transform.layers, which holds every style layer: none would be zeroed"),
        ("method: {name: gatys, gram_transform: {name: eigen-randomize, low: 1, high: 1.0}}\n",
         r"method.gram_transform.low: and high are 1: eigen-randomize would multiply every element of V by 1"),
        ("method: {name: gatys, gram_transform: {name: eigen-randomize, redraw: step}}\n",
         r"method.gram_transform.redraw: step needs optimizer adam"),
        # every frame the start, to the byte
        ("method: {name: gatys, optimizer: adam, lr: 0}\n", r"p.yaml:3: method.lr: is 0: adam would not move the picture"),
        # the same frames as with method.original_colors alone, whatever the strength
        ("method: {name: gatys, original_colors: true}\noriginal_colors: 0.5\n",
         r"p.yaml:4: original_colors: would lay the content's colours on a picture that has them already"),
        (f"method: {{name: gatys, representation: local}}\niterate: {{inject: {{image: {SAMPLES / 'brick.png'}, weight: 0.5}}}}\n",
         r"iterate.inject: a local style matches pixel by pixel"),
        (f"mode: still\nstyle: [{SAMPLES / 'brick.png'}]\nmethod: {{name: gatys, init: previous}}\n",
         r"method.init: previous is the last frame: iterate or video mode"),
        ("mode: still\nmethod: {name: gatys, content_weight: 5}\nstill: {objective: texture}\n",
         r"method.content_weight: is not used by objective texture: it paints the style alone"),
        # the content's colours laid on a texture brought the content back (a blue picture, a blue texture)
        ("mode: still\nmethod: {name: gatys, original_colors: true}\nstill: {objective: texture}\n",
         r"method.original_colors: is not used by objective texture: it paints the style alone"),
        # the style image unused: every frame the content's, with exit 0
        (f"style: {SAMPLES / 'brick.png'}\nmethod: {{name: gatys, style_weight: 0}}\n",
         r"p.yaml:4: method.style_weight: is 0: the style images would not be used"),
        (f"style: {SAMPLES / 'brick.png'}\nmethod: {{name: gatys, style_weight: '1 if t > 50 else 0'}}\niterate: {{steps: 10}}\n",
         r"p.yaml:4: method.style_weight: is 0 at every frame: the style images would not be used"),
        (f"style: {SAMPLES / 'brick.png'}\nmethod: {{name: gatys, style_layers: [relu1_1, relu2_1], "
         "style_layer_weights: ['0 * t', 0]}\n", r"method.style_layer_weights: is 0 at every frame"),
        (f"style: {SAMPLES / 'brick.png'}\nmethod: {{name: gatys, style_layers: []}}\n",
         r"method.style_layers: is empty: the style images would not be used"),
        (f"style: {SAMPLES / 'brick.png'}\nmethod: {{name: gatys, style_layers: [relu1_1, relu2_1], style_layer_weights: [0, 0]}}\n",
         r"method.style_layer_weights: are all 0: the style images would not be used"),
        # its own style with the style term off: the transform moved nothing, the video came out as the clip, exit 0
        ("mode: video\nstyle: self\nmethod: {name: gatys, style_weight: 0, gram_transform: eigen-randomize}\n",
         r"p.yaml:5: method.style_weight: is 0: method.gram_transform has no style term to move"),
        ("style: self\nmethod: {name: gatys, style_layers: [relu1_1, relu2_1], style_layer_weights: [0, 0], "
         "gram_transform: {name: none, layers: [relu1_1], zero_others: true}}\n",
         r"p.yaml:4: method.style_layer_weights: are all 0: method.gram_transform has no style term to move"),
        ("mode: still\nmethod: gatys\noriginal_colors: 0.5\nstill: {objective: texture}\n",  # taken: the cat's colours
         r"p.yaml:5: original_colors: is not used by objective texture: it paints the style alone"),
        ("mode: still\nmethod: {name: gatys, init: content}\nstill: {objective: reconstruct}\n",
         r"method.init: is not used by objective reconstruct"),
        ("mode: still\nmethod: {name: gatys, gram_transform: sparse}\nstill: {objective: reconstruct}\n",
         r"method.gram_transform: is not used by objective reconstruct"),
        (f"mode: still\nstyle: [{SAMPLES / 'brick.png'}]\nmethod: gatys\nstill: {{objective: reconstruct}}\n",
         r"style: is not used by objective reconstruct: it paints the content alone"),
        # the frame its own style and its own start: the clip came back, after minutes of optimizing
        ("mode: video\nstyle: self\nmethod: gatys\n", r"p.yaml:4: style: self with gatys in video mode paints each frame "
                                                    r"as itself \(f\(x, x\) = x\): expected a style image"),
        ("mode: video\nstyle: self\nmethod: {name: gatys, content_weight: 0}\n", r"p.yaml:4: style: self with gatys"),
        ("mode: video\nstyle: self\nmethod: {name: gatys, content_weight: 0, init: previous}\n", r"style: self with gatys"),
        ("mode: still\nstyle: self\n", r"p.yaml:4: style: still mode needs a style image \(self, the picture as its own "
                                     r"style, is for iterate and video mode\)"),
        # an integer beyond a float's range: a traceback (OverflowError)
        (f"iterate: {{blend: '{'9' * 400} * 0'}}\n", r"p.yaml:3: iterate.blend: schedule .*: a number beyond a float's "
                                                       r"range \(at most about 1.8e308\) \(at character 1\)$"),
        (f"iterate: {{blend: {{0: {'9' * 400}}}}}\n", r"iterate.blend: schedule: a number beyond a float's range"),
        (f"iterate: {{blend: {'9' * 400}}}\n", r"iterate.blend: expected a finite number between 0 and 1, found 999"),
        (f"video: {{start: {'9' * 400}}}\nmode: video\n", r"video.start: expected a finite number >= 0, found 999"),
        (f"iterate: {{blend: {'9' * 5000}}}\n", r"p.yaml: refused: a number of more digits than 4300"),
        ("method: {name: gatys, scales: [48, 32]}\n", r"method.scales: expected sizes from the coarsest up, each once"),
        ("method: {name: gatys, scales: [32, 32]}\n", r"method.scales: expected sizes from the coarsest up"),
        ("method: {name: gatys, style_layers: [relu1_1, relu1_1]}\n", r"method.style_layers: expected each layer once, "
                                                                       r"found relu1_1 twice"),
        # taken, where style_layers given so were refused
        ("method: {name: gatys, gram_transform: {name: eigen-replace, layers: [relu3_1, relu3_1]}}\n",
         r"method.gram_transform.layers: expected each layer once, found relu3_1 twice"),
        # the frame's own picture as its start, as content is: the frames were init content's to the byte
        ("style: self\nmethod: {name: gatys, init: style, gram_transform: eigen-randomize}\n",
         r"method.init: style is the picture itself with style self: the same start as init content"),
        # a schedule where one value goes said "found dict"
        ("size: {keyframes: '0: 64, 5: 96'}\n", r"size: expected a whole number .*, found a schedule \(this key takes one value\)"),
        # past its bound at the last step alone: the render stopped on its last frame
        ("iterate:\n  steps: 10\n  blend: '1.5 if t == 10 else 0.5'\n",
         r"p.yaml:5: iterate.blend: expected values between 0 and 1, found 1.5 at frame 10"),
        # Python's True, None for YAML's yes and an empty key
        ("method: {name: arbitrary, stroke_scale: yes}\n",
         r"method.stroke_scale: expected a number between 0.1 and 1, found true \(YAML's true, yes or on\)$"),
        ("seed: off\n", r"seed: expected a whole number between 0 and 4294967295, found false \(YAML's false, no or off\)$"),
        ("size:\n", r"p.yaml:3: size: expected a whole number between 32 and 8192, found null \(no value\)$"),
        ("iterate: {interpolate: [2]}\n", r"iterate.interpolate: expected a whole number between 1 and 64, found a list"),
        ("method: {name: gatys, optimizer: adam, lr: 1e38}\n", r"method.lr: expected values between 0 and 1, found 1e\+38"),  # a traceback
        ("method: gatys\nvideo: {temporal: {output_weight: 1}}\n", r"video.temporal.output_weight: is for the networks"),
        ("method: gatys\nvideo: {temporal: {pan_lock: false}}\n", r"video.temporal.pan_lock: is for the networks"),
    ],
)
def test_mistakes_name_file_line_key_and_expectation(tmp_path, extra, expected):
    with pytest.raises(PresetError, match=expected) as error:
        load_preset(write(tmp_path, minimal(extra)))
    assert "\n" not in str(error.value)


def test_the_largest_seed_seeds_every_frame(tmp_path):
    from animator.clock import frame_generator
    from animator.preset.schema import SEED_MAX

    assert load_preset(write(tmp_path, minimal(f"seed: {SEED_MAX}\n"))).seed == SEED_MAX
    frame_generator(SEED_MAX, 10**12)  # seed * 1_000_003 + frame stays below 2^64, the most torch takes


def test_gatys_paints_a_video_in_its_own_style_when_the_style_space_moves_or_the_content_lets_go(tmp_path):
    for method in ("{name: gatys, gram_transform: sparse}", "{name: gatys, gram_transform: {name: none, layers: [relu1_1], "
                   "zero_others: true}}", "{name: gatys, content_weight: 0, init: noise}"):
        assert load_preset(write(tmp_path, minimal(f"mode: video\nstyle: self\nmethod: {method}\n"))).style == "self"


def test_a_mode_set_on_the_command_line_is_named_where_the_file_has_its_modes_section(tmp_path):
    """The line blamed the file alone, where the --set made its section one of another mode."""
    with pytest.raises(PresetError, match=r"p.yaml:3: iterate.blend: is for iterate mode; this preset's mode is video "
                                          r"\(by --set mode=video\): a preset of another mode needs its iterate section"):
        load_preset(write(tmp_path, minimal("iterate: {blend: 0.5}\n")), parse_overrides(["mode=video"]))


def test_a_path_given_with_set_is_read_from_the_working_folder(tmp_path, monkeypatch):
    """As any command line's: it was read from the preset's folder (presets/photo.png, not found),
    and a batch's presets in several folders each read it from their own."""
    (tmp_path / "presets").mkdir()
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "photo.png").write_bytes((SAMPLES / "chelsea.png").read_bytes())
    monkeypatch.chdir(tmp_path / "here")
    preset = load_preset(write(tmp_path / "presets", minimal()), parse_overrides(["input=photo.png", "style=[photo.png]"]))
    assert preset.input == preset.style[0].image == tmp_path / "here" / "photo.png"
    assert load_preset(write(tmp_path / "presets", minimal("style: ../here/photo.png\n"))).style[0].image == \
        tmp_path / "here" / "photo.png"  # the file's own paths: from the file's folder, as before


def test_a_set_of_a_number_python_will_not_read_is_one_line():
    with pytest.raises(PresetError, match=r"^--set 'iterate.blend=9+\.\.\.: refused: a number of more digits than 4300"):
        parse_overrides([f"iterate.blend={'9' * 5000}"])
    assert parse_overrides(["video.start=2001-02-30"])[0].value == "2001-02-30"  # no date: text, refused by its key


def test_a_keyframe_written_bare_is_a_keyframe_not_a_number_in_base_60(tmp_path):
    """YAML 1.1 reads `5:30` as 330 (5 x 60 + 30), where `0:30` is text: a constant 330 px a step
    where `angle: 0:30` beside it was a keyframe."""
    motion = load_preset(write(tmp_path, minimal("iterate:\n  motion: {translate_x: 5:30, angle: 0:30}\n"))).iterate.motion
    assert (motion.translate_x.frames, motion.angle.frames) == ((5,), (0,))
    assert motion.translate_x.at(0, 10, 0.0) == 30 and motion.angle.at(0, 10, 0.0) == 30
    overridden = load_preset(write(tmp_path, minimal()), parse_overrides(["iterate.motion.translate_x=1:30"]))
    assert overridden.iterate.motion.translate_x.frames == (1,)


def test_an_empty_layer_list_is_no_such_term(tmp_path):
    for layers in ("style_layers", "content_layers"):
        preset = load_preset(write(tmp_path, minimal(f"method: {{name: gatys, {layers}: []}}\n")))
        assert getattr(preset.method, layers) == ()


def test_missing_input_and_required_keys(tmp_path):
    with pytest.raises(PresetError, match=r"p.yaml:2: input: file not found: .*missing.png"):
        load_preset(write(tmp_path, "name: t\ninput: missing.png\n"))
    with pytest.raises(PresetError, match=r"p.yaml: input: required key is missing"):
        load_preset(write(tmp_path, "name: t\n"))


def test_yaml_syntax_error_gives_the_line(tmp_path):
    with pytest.raises(PresetError, match=r"p.yaml:4: YAML syntax error: mapping values are not allowed here"):
        load_preset(write(tmp_path, minimal("size: 3\n  steps: 2\n")))


def test_a_key_given_twice_is_an_error_not_the_last_one_silently(tmp_path):
    with pytest.raises(PresetError, match=r"p.yaml:5: size: given twice \(first on line 3\)"):
        load_preset(write(tmp_path, minimal("size: 64\niterate: {steps: 3}\nsize: 128\n")))
    with pytest.raises(PresetError, match=r"p.yaml:3: iterate.blend: given twice \(first on line 3\)"):
        load_preset(write(tmp_path, minimal("iterate: {blend: 0.1, steps: 3, blend: 0.2}\n")))
    # one frame written two ways: the mapping would keep one of them without a word
    with pytest.raises(PresetError, match=r"p.yaml:3: iterate.blend.5.0: given twice \(first on line 3 as 5\)"):
        load_preset(write(tmp_path, minimal("iterate: {steps: 9, blend: {0: 0.1, 5: 0.2, 5.0: 0.3}}\n")))
    assert load_preset(write(tmp_path, minimal("iterate: {steps: 9, blend: {0: 0.1, 5: 0.2, 6: 0.3}}\n"))).iterate.blend.frames == (0, 5, 6)
    merged = "outputs: [&mp4 {format: mp4, fps: 12}, {<<: *mp4, format: gif}]\n"  # a merge is not a repeat
    assert [(o.format, o.fps) for o in load_preset(write(tmp_path, minimal(merged))).outputs] == [("mp4", 12), ("gif", 12)]


@pytest.mark.parametrize("key, read", [("~", "null"), ("1.5", "a number"), ("2024-01-01", "a date"), ("yes", "true or false")])
def test_a_key_yaml_reads_as_no_name_is_one_line_with_its_line(tmp_path, key, read):
    with pytest.raises(PresetError, match=rf"p.yaml:3: .*: unknown key: YAML read it as {read}, and keys are names"):
        load_preset(write(tmp_path, minimal(f"{key}: 2\n")))


def test_a_name_that_begins_with_an_underscore_is_told_what_a_name_begins_with(tmp_path):
    with pytest.raises(PresetError, match=r"p.yaml:1: name: expected ASCII letters, digits, '.', '_' or '-', beginning with a "
                                          r"letter or digit \(a file name\), found '_x'"):
        load_preset(write(tmp_path, f"name: _x\ninput: {SAMPLES / 'chelsea.png'}\n"))


@pytest.mark.parametrize("device", ["banana", "CPU", "mps", "", "cuda:x"])
def test_a_device_no_machine_has_is_refused_at_load_not_at_render(tmp_path, device):
    with pytest.raises(PresetError, match=rf"p.yaml:3: device: expected auto, cpu, cuda or cuda:N, found '{device}'"):
        load_preset(write(tmp_path, minimal(f"device: '{device}'\n")))
    assert load_preset(write(tmp_path, minimal("device: cuda:1\n"))).device == "cuda:1"  # whether it is here: at render


@pytest.mark.parametrize("extra, key", [
    ("style: [{image: brick.png, weight: 1.0e308}, brick.png]", r"style\[0\].weight"),
    ("method: {name: gatys, tv_weight: 1.0e300}", "method.tv_weight"),
    ("method: {name: gatys, style_weight: 1.0e39}", "method.style_weight"),
    ("method: {name: multistyle, style: {3: 1.0e+308, 4: 1.0e+308}}", "method.style"),  # numbers to YAML
    ("method: {name: multistyle, style: {3: 1.0e308, 4: 1.0e308}}", "method.style"),  # text: a schedule
])
def test_a_weight_past_what_float32_sums_hold_is_refused_at_load(tmp_path, extra, key):
    extra = extra.replace("brick.png", str(SAMPLES / "brick.png"))
    with pytest.raises(PresetError, match=rf"p.yaml:3: {key}(\[3\])?: .*between 0 and 1000000000000"):
        load_preset(write(tmp_path, minimal(extra + "\n")))


def test_unreadable_preset_files(tmp_path):
    with pytest.raises(PresetError, match="preset file not found"):
        load_preset(tmp_path / "nope.yaml")
    with pytest.raises(PresetError, match="expected a mapping"):
        load_preset(write(tmp_path, "- just\n- a list\n"))
    with pytest.raises(PresetError, match="the file is empty"):
        load_preset(write(tmp_path, "# nothing but a comment\n"))


def test_a_still_left_without_outputs_is_one_png_and_a_loop_a_video(tmp_path):
    """A still preset without `outputs` wrote a video of one frame (MP4 and GIF, 1/24 s)."""
    formats = lambda preset: [(o.format, o.size) for o in preset.outputs]  # noqa: E731
    still = write(tmp_path, minimal(f"mode: still\nstyle: {SAMPLES / 'brick.png'}\n"))
    assert formats(load_preset(still)) == [("png", None)]
    assert formats(load_preset(still, parse_overrides(["outputs.0.size=64"]))) == [("png", 64)]  # the default edited
    assert formats(load_preset(still, parse_overrides(["outputs=[{format: webp}]"]))) == [("webp", None)]
    loop = write(tmp_path, minimal())
    assert formats(load_preset(loop)) == [("mp4", None), ("gif", 256)]
    assert formats(load_preset(loop, parse_overrides(["mode=still", f"style={SAMPLES / 'brick.png'}"]))) == [("png", None)]
    assert formats(load_preset(still, parse_overrides(["mode=iterate"]))) == [("mp4", None), ("gif", 256)]


def test_overrides_beat_the_file_and_are_checked_the_same_way(tmp_path):
    path = write(tmp_path, minimal("iterate: {steps: 10}\n"))
    preset = load_preset(path, parse_overrides(["iterate.steps=3", "outputs.0.fps=30", "method.name=multistyle"]))
    assert preset.iterate.steps == 3 and preset.outputs[0].fps == 30 and preset.method.name == "multistyle"
    with pytest.raises(PresetError, match=r"^--set iterate.blend=2: iterate.blend: expected a number between 0 and 1"):
        load_preset(path, parse_overrides(["iterate.blend=2"]))
    with pytest.raises(PresetError, match=r"--set iterate=: iterate: expected a mapping of keys, found null \(no value\)$"):
        load_preset(path, parse_overrides(["iterate="]))
    with pytest.raises(PresetError, match=r"--set nonsense: expected key.path=value"):
        parse_overrides(["nonsense"])
    with pytest.raises(PresetError, match=r"outputs\[5\]: no such list item"):
        load_preset(path, parse_overrides(["outputs.5.fps=3"]))
    # a --set replaced by a later one was dropped without a word; a later one inside it refines it
    for sets in (["iterate.steps=3", "iterate={blend: 0.5}"], ["outputs.0.fps=30", "outputs=[gif]"]):
        with pytest.raises(PresetError, match=rf"^--set {re.escape(sets[0])} and --set {re.escape(sets[1])}: the second replaces"):
            parse_overrides(sets)
    assert load_preset(path, parse_overrides(["iterate={blend: 0.5}", "iterate.steps=3"])).iterate.steps == 3
    assert load_preset(path, parse_overrides(["iterate.steps=3", "iterate.steps=5"])).iterate.steps == 5  # the last, as flags
    # a command's own default for a key neither its flag nor a --set gives (a preview's size)
    assert load_preset(path, parse_overrides([], {"size": 128})).size == 128
    assert load_preset(path, parse_overrides(["size=64"], {"size": 128})).size == 64
    # a flag and a --set of the same key: one would be dropped without a word
    with pytest.raises(PresetError, match=r"^--size 96 and --set size=64: both set size; give one$"):
        parse_overrides(["size=64"], size=96)
    with pytest.raises(PresetError, match=r"^--device cpu and --set device=cuda: both set device"):
        parse_overrides(["iterate.steps=3", "device=cuda"], device="cpu")
    assert load_preset(path, parse_overrides(["iterate.steps=3"], size=96)).size == 96  # the flag, beside another key's --set



def test_an_override_inside_a_bare_value_keeps_what_the_value_stood_for(tmp_path):
    # `audio: song.m4a` is `audio: {file: song.m4a}` and `method: multistyle` is `{name: multistyle}`:
    # an override of a key inside them replaced them with a mapping without their file or name
    path = write(tmp_path, minimal(f"audio: {SAMPLES / 'groove.m4a'}\nmethod: multistyle\n"))
    preset = load_preset(path, parse_overrides(["audio.start=2.5", "method.style=3"]))
    assert preset.audio.file == SAMPLES / "groove.m4a" and preset.audio.start == 2.5
    assert preset.method.name == "multistyle" and preset.method.style.index(1.0) == 3  # style 3 alone


def test_an_override_reaches_into_a_shorthand_list_or_schedule_and_a_section_left_out(tmp_path):
    brick, coffee = SAMPLES / "brick.png", SAMPLES / "coffee.png"
    path = write(tmp_path, minimal(f"style: {brick}\niterate: {{steps: 9, blend: '0: 0.1, 3: 0.5'}}\n"))
    preset = load_preset(path, parse_overrides([f"style=[{brick}, {coffee}]", "style.0.weight=3", "outputs=gif",
                                                "outputs.0.size=100", "iterate.blend.interpolation=cubic"]))
    assert [s.weight for s in preset.style] == [3, 1] and [(o.format, o.size) for o in preset.outputs] == [("gif", 100)]
    assert preset.iterate.blend.interpolation == "cubic" and preset.iterate.blend.frames == (0, 3)
    preset = load_preset(path, parse_overrides(["iterate.blend=0.3", "iterate.blend.keyframes=0: 0.1, 2: 0.2"]))
    assert preset.iterate.blend.frames == (0, 2)
    assert load_preset(path, parse_overrides(["method.style_size=128"])).method.style_size == 128  # the default method's
    with pytest.raises(PresetError, match=r"^--set audio.start=3: audio.file: required key is missing"):  # not the file's
        load_preset(path, parse_overrides(["audio.start=3"]))
    with pytest.raises(PresetError, match=r"^--set style.0.weight=2: style\[0\]: no such list item"):
        load_preset(path, parse_overrides(["style=self", "style.0.weight=2"]))


def test_an_override_reaches_into_a_mapping_that_stands_for_a_list_of_one_or_a_schedule(tmp_path):
    """`outputs: {format: gif}` is a list of one output and `blend: {0: 0.1, 3: 0.5}` a schedule's
    keyframes, as their text forms are; a --set into them was refused ("outputs[0][0]: unknown
    key", the file blamed for `outputs.1`; "a keyframe mapping needs frame numbers as keys")."""
    path = write(tmp_path, minimal(f"style: {{image: {SAMPLES / 'brick.png'}}}\niterate: {{steps: 9, blend: {{0: 0.1, 3: 0.5}}}}\n"
                                   "outputs: {format: gif}\n"))
    preset = load_preset(path, parse_overrides(["outputs.0.size=100", "iterate.blend.interpolation=cubic",
                                                f"style.0.image={SAMPLES / 'coffee.png'}"]))
    assert [(o.format, o.size) for o in preset.outputs] == [("gif", 100)] and preset.style[0].image == SAMPLES / "coffee.png"
    assert preset.iterate.blend.interpolation == "cubic" and preset.iterate.blend.frames == (0, 3)
    assert load_preset(path, parse_overrides(["iterate.blend.3=0.2"])).iterate.blend.at(3, 10, 0) == 0.2  # a keyframe of it
    with pytest.raises(PresetError, match=r"^--set outputs.1.format=mp4: outputs\[1\]: no such list item"):
        load_preset(path, parse_overrides(["outputs.1.format=mp4"]))
    swirl = load_preset(PRESETS / "swirl.yaml", parse_overrides(["method.style.3=2"]))  # an index of styles, no list of one
    assert swirl.method.style[3] == pytest.approx(2 / 3)


def test_a_gif_at_a_slow_folders_rate_is_refused_before_it_renders(tmp_path):
    """A folder at 0.001 fps made a GIF of 2310 s for 4000: each frame's delay wrapped past 16 bits."""
    from PIL import Image

    from animator.render.plan import Plan

    (tmp_path / "f").mkdir()
    for i in range(2):
        Image.new("RGB", (40, 30), (i * 90, 0, 0)).save(tmp_path / "f" / f"{i}.png")
    path = write(tmp_path, f"name: t\nmode: video\ninput: {tmp_path / 'f'}\nmethod: multistyle\nvideo: {{fps: 0.001}}\n"
                           "outputs: [{format: mp4}, {format: gif}]\n")
    with pytest.raises(PresetError, match=r"p.yaml:6: outputs\[1\]: a GIF's frame lasts at most 655.35 s.*found 0.001 \(the render's\)"):
        Plan(load_preset(path))
    assert Plan(load_preset(path, parse_overrides(["outputs.1.fps=0.01"]))).fps == Fraction(1, 1000)


def test_schedules_and_morphs_load_as_their_values(tmp_path):
    from animator.preset.schedule import Schedule
    from animator.preset.resolve import style_weights

    preset = load_preset(write(tmp_path, minimal(
        "iterate:\n  steps: 20\n  motion: {zoom: {0: 1.0, 10: 1.05}, angle: 'sin(t / 3)'}\n"
        f"style: [{{image: {SAMPLES / 'brick.png'}, at: 0}}, {{image: {SAMPLES / 'coffee.png'}, at: 10}},"
        f" {{image: {SAMPLES / 'astronaut.png'}, at: 20}}]\n")))
    zoom = preset.iterate.motion.zoom
    assert isinstance(zoom, Schedule) and zoom.at(5, 21, 0) == pytest.approx(1.025)
    weights = [[w.at(t, 21, 0) for w in style_weights(preset.style)] for t in (0, 5, 10, 15, 20)]
    assert weights == [[1, 0, 0], [0.5, 0.5, 0], [0, 1, 0], [0, 0.5, 0.5], [0, 0, 1]]


def test_seconds_in_schedules_are_those_of_the_first_output_with_sound_that_sets_a_rate(tmp_path):
    from animator.preset.resolve import timeline

    def line(outputs: str):
        return timeline(load_preset(write(tmp_path, minimal(f"iterate: {{steps: 6, interpolate: 2}}\noutputs: {outputs}\n"))))

    assert line("[{format: gif, fps: 10}, {format: webm, fps: 30}, {format: mp4, fps: 25}]").fps == 30
    assert line("[{format: gif, fps: 10}, png]").fps == 24  # an animated image's own rate: the render's stays
    mp4 = line("[{format: mp4, fps: 12}]")
    assert (mp4.frames, mp4.steps, mp4.seconds_per_step) == (13, 7, pytest.approx(2 / 12))  # an iterate lasts its two frames


def test_a_keyframe_past_the_last_step_is_noted_and_one_on_it_is_not(tmp_path):
    from animator.preset.resolve import timeline, unreached_keyframes

    def notes(steps: int) -> list[str]:
        preset = load_preset(write(tmp_path, minimal(f"iterate:\n  steps: {steps}\n  blend: '0: 0.1, 10: 0.5'\n")))
        return unreached_keyframes(preset, timeline(preset))

    assert notes(10) == []  # iterates 0..10: keyframe 10 is the last
    assert notes(9) == [f"{tmp_path / 'p.yaml'}:5: iterate.blend: keyframe 10 is past the last iterate (9); the render "
                        "ends before it"]


def test_a_video_schedule_is_checked_against_the_clip_before_rendering(tmp_path):
    from tests.conftest import MEDIA

    path = write(tmp_path, f"name: v\nmode: video\ninput: {MEDIA / 'chaplin.mp4'}\nmethod: multistyle\n"
                           "video: {duration: 1, temporal: {weight: '0: 0.5, 20: 1.5'}}\n")
    from animator.render.plan import Plan

    with pytest.raises(PresetError, match=r"video.temporal.weight: expected values between 0 and 1, found 1.05 at frame 11"):
        Plan(load_preset(path))


@pytest.mark.parametrize("path", sorted(PRESETS.glob("*.yaml")), ids=lambda p: p.stem)
def test_presets_survive_plain_data(path, tmp_path):
    from animator.preset import preset_from_dict
    from animator.preset.convert import to_plain

    plain = load_preset(path)  # a schedule the preset takes (a texture takes no colours of the content)
    key = "iterate.blend" if plain.mode == "iterate" else "method.style_weight" if plain.still.objective == "texture" \
        else "original_colors"
    preset = load_preset(path, parse_overrides([f"{key}={{keyframes: '0: 0.1, 9: 0.4', interpolation: cubic}}"]))
    assert preset_from_dict(to_plain(preset), tmp_path, source=preset.source) == preset


@pytest.mark.parametrize("text, switch, key", [
    ("mode: video\nvideo: {temporal: {flow: dis, weight: 0.5}}\n", "video.temporal.flow=none", ("video", "temporal", "weight")),
    ("iterate: {color: {match: lab, strength: 0.5}}\n", "iterate.color.match=none", ("iterate", "color", "strength")),
    # a gatys video's passes: --set video.temporal.flow=none was refused ("needs flow")
    (f"mode: video\nstyle: {SAMPLES / 'brick.png'}\nmethod: {{name: gatys, steps: 4}}\n"
     "video: {temporal: {passes: 2, weight: 0.5}}\n", "video.temporal.flow=none", ("video", "temporal", "weight")),
])
def test_a_setting_switched_off_by_the_command_line_keeps_its_keys(tmp_path, text, switch, key):
    """So that one --set compares a render with the setting and without (in a file that switches
    it off, the same keys are refused: above)."""
    preset = load_preset(write(tmp_path, minimal(text)), parse_overrides([switch]))
    section = preset
    for part in key[:-1]:
        section = getattr(section, part)
    assert getattr(section, key[-1]) == 0.5


@pytest.mark.parametrize("switch, message", [
    ("iterate.color={strength: 0.5}", r"iterate.color.strength: is for colour coherence"),
    ("iterate.motion={border: wrap}", r"iterate.motion.border: is for motion"),
    ("video.temporal={flow: none, weight: 0.5}", r"video.temporal.weight: is for temporal consistency"),
])
def test_a_whole_section_set_from_the_command_line_is_judged_as_a_file_is(tmp_path, switch, message):
    # it replaces the file's keys with its own: a key in it that changes nothing was taken, since a
    # --set of the section counted as a setting switched off from the command line
    text = minimal("mode: video\n" if switch.startswith("video") else "")
    with pytest.raises(PresetError, match=message):
        load_preset(write(tmp_path, text), parse_overrides([switch]))


def test_colour_matching_at_strength_0_from_the_command_line_keeps_its_match(tmp_path):
    # as a setting switched off by --set keeps its keys: one --set compares the loop matched and not
    text = minimal("iterate: {color: {match: lab, strength: 0.5}}\n")
    assert load_preset(write(tmp_path, text), parse_overrides(["iterate.color.strength=0"])).iterate.color.match == "lab"


def test_a_border_set_from_the_command_line_for_motion_that_moves_nothing_is_refused(tmp_path):
    # a --set anywhere under iterate.motion skipped the check that a file gets; one that stops the
    # motion keeps the file's border, so that one --set compares a loop moving and still
    with pytest.raises(PresetError, match=r"--set iterate.motion.border=wrap: iterate.motion.border: is for motion"):
        load_preset(write(tmp_path, minimal()), parse_overrides(["iterate.motion.border=wrap"]))
    moving = minimal("iterate: {motion: {zoom: 1.02, border: wrap}}\n")
    assert load_preset(write(tmp_path, moving), parse_overrides(["iterate.motion.zoom=1"])).iterate.motion.border == "wrap"


def test_a_still_objectives_own_settings_written_out_are_taken(tmp_path):
    # `content_weight: 0` in a texture, what the objective does itself, was refused as unused
    text = "mode: still\nmethod: {name: gatys, init: noise, content_weight: 0, content_layers: []}\nstill: {objective: texture}\n"
    assert load_preset(write(tmp_path, minimal(text))).method.content_weight == 0
    text = "mode: still\nmethod: {name: gatys, style_weight: 0, content_layers: [relu3_1]}\nstill: {objective: reconstruct, layer: relu3_1}\n"
    assert load_preset(write(tmp_path, minimal(text))).still.layer == "relu3_1"


def test_music_a_set_leaves_unheard_is_taken(tmp_path):
    # a loop as long as its song, shortened by --set iterate.steps=3 (the README's batch recipe),
    # was refused: "nothing hears it"
    text = minimal(f"audio: {SAMPLES / 'groove.m4a'}\niterate: {{steps: auto}}\noutputs: [{{format: gif}}]\n")
    assert load_preset(write(tmp_path, text), parse_overrides(["iterate.steps=3"])).iterate.steps == 3
    with pytest.raises(PresetError, match=r"p.yaml:3: audio: nothing hears it"):
        load_preset(write(tmp_path, text.replace("steps: auto", "steps: 3")))


@pytest.mark.parametrize("name, found", [("[gatys]", "a list"), ("{a: 1}", "a mapping")])
def test_a_method_name_that_is_a_list_or_a_mapping_is_one_line(tmp_path, name, found):
    """A list or a mapping as the method's name could not be looked up (unhashable): a traceback."""
    with pytest.raises(PresetError, match=rf"p\.yaml:3: method\.name: expected one of arbitrary, multistyle, gatys, found {found}$"):
        load_preset(write(tmp_path, minimal(f"method: {{name: {name}}}\n")))


def test_a_path_with_a_null_character_is_one_line(tmp_path):
    """os.path raised ValueError (embedded null byte) past the loader: a traceback."""
    with pytest.raises(PresetError, match=r"p\.yaml:3: iterate\.inject\.image: expected a file path, found .*null character"):
        load_preset(write(tmp_path, minimal('iterate: {inject: {image: "a\\0b.png", weight: 0.5}}\n')))


def test_a_preset_saved_as_utf_16_reads_as_its_utf_8_twin(tmp_path):
    """YAML files may be UTF-16 with a byte order mark (what Windows editors save as "Unicode"):
    it was "cannot read preset ('utf-8' codec can't decode byte 0xff ...)"."""
    import dataclasses

    text = (PRESETS / "melt.yaml").read_text().replace("../samples/", f"{SAMPLES}/")
    (tmp_path / "utf-8.yaml").write_text(text)
    twin = load_preset(tmp_path / "utf-8.yaml")
    for encoding in ("utf-16", "utf-16-be"):
        path = tmp_path / f"{encoding}.yaml"
        path.write_bytes(("\ufeff" if encoding.endswith("be") else "").encode(encoding) + text.encode(encoding))
        assert dataclasses.replace(load_preset(path), source=twin.source) == twin, encoding


@pytest.mark.parametrize("text, line, code", [
    (minimal("description: a bell \a rang\n"), 3, "0007"),  # a control character pasted into the text
    (minimal("size: 64\n") + "\0", 4, "0000"),  # a NUL an editor or a download left at the end
], ids=["bell", "nul"])
def test_a_control_character_in_a_preset_is_one_line_with_its_line(tmp_path, text, line, code):
    """YAML's reader refuses them before parsing, and that was a traceback."""
    with pytest.raises(PresetError, match=rf"p\.yaml:{line}: YAML syntax error: unacceptable character #x{code}"):
        load_preset(write(tmp_path, text))

"""The hardware guide agrees with itself and with the code: pins in the diagrams, the guide's
table, pins.toml and the sample config; well-formed, titled SVGs; links; quoted commands."""

import re
import shlex
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mickill import config, doctor
from mickill.cli.main import build_parser

HARDWARE = Path(__file__).resolve().parent.parent / "hardware"
SVG = "{http://www.w3.org/2000/svg}"
DIAGRAMS = sorted(HARDWARE.glob("*.svg"))
GUIDES = sorted(HARDWARE.glob("*.md"))
DEVICES = ("relay", "control", "led", "sense")
# The 40-pin header's BCM -> physical positions, from the Raspberry Pi pinout (an outside fact,
# so a wrong physical number in pins.toml cannot agree with itself).
HEADER = {2: 3, 3: 5, 4: 7, 17: 11, 27: 13, 22: 15, 10: 19, 9: 21, 11: 23, 5: 29, 6: 31, 13: 33,
          19: 35, 26: 37, 14: 8, 15: 10, 18: 12, 23: 16, 24: 18, 25: 22, 8: 24, 7: 26, 12: 32,
          16: 36, 20: 38, 21: 40, 0: 27, 1: 28}
GROUND_PINS = {6, 9, 14, 20, 25, 30, 34, 39}


def pin_map() -> dict:
    return tomllib.loads((HARDWARE / "pins.toml").read_text(encoding="utf-8"))


def sample_sense_pin() -> int:
    """The sample leaves sense commented out (it is optional); read the pin it suggests."""
    text = config.sample_text()
    section = text[text.index("[sense]"):]
    return int(re.search(r"^#\s*pin\s*=\s*(\d+)", section, re.M).group(1))


def test_the_pin_map_matches_the_sample_config():
    sample = config.parse(tomllib.loads(config.sample_text()))
    pins = pin_map()
    assert pins["relay"]["bcm"] == sample.relay.pin
    assert pins["control"]["bcm"] == sample.control.pin
    assert pins["led"]["bcm"] == sample.led.pin
    assert pins["sense"]["bcm"] == sample_sense_pin()


def test_the_pin_map_has_true_header_positions_and_safe_pins():
    pins = pin_map()
    for device in DEVICES:
        bcm = pins[device]["bcm"]
        assert pins[device]["physical"] == HEADER[bcm], device
        # Pulled low at power-on and free of I2C/SPI/UART/I2S/ID: what the guide promises.
        assert bcm > doctor.LAST_PULLED_UP and bcm not in doctor.RESERVED_PINS, device
    assert pins["control"]["ground"] in GROUND_PINS
    assert pins["supply"]["ground"] in GROUND_PINS
    assert (pins["supply"]["five_volt"], pins["supply"]["three_volt_three"]) == (2, 1)


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_every_diagram_is_well_formed_and_titled(path):
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    title = root.find(f"{SVG}title")
    assert title is not None and len(title.text.strip()) > 20
    assert list(root)[0] is title, "the title must come first for screen readers"
    assert root.find(f"{SVG}desc") is not None


def test_both_wirings_have_a_diagram():
    assert {p.name for p in DIAGRAMS} >= {"power-cut.svg", "mic-line-cut.svg"}


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_every_pin_in_a_diagram_agrees_with_the_pin_map(path):
    pins = pin_map()
    root = ET.parse(path).getroot()
    seen = set()
    for group in root.iter(f"{SVG}g"):
        if "data-bcm" not in group.attrib:
            continue
        device = group.get("id").removeprefix("pin-")
        bcm, physical = int(group.get("data-bcm")), int(group.get("data-physical"))
        assert (bcm, physical) == (pins[device]["bcm"], pins[device]["physical"]), (path.name, device)
        label = " ".join(t.text for t in group.iter(f"{SVG}text"))
        # What the reader sees must say the same as the data attributes.
        assert f"GPIO {bcm}" in label and f"pin {physical}" in label, label
        seen.add(device)
    assert seen == set(DEVICES), f"{path.name} must show every device pin"
    powers = {g.get("id"): int(g.get("data-physical")) for g in root.iter(f"{SVG}g")
              if g.get("id") in ("pin-5v", "pin-3v3", "pin-gnd", "pin-control-ground")}
    assert powers["pin-5v"] == pins["supply"]["five_volt"]
    assert powers["pin-3v3"] == pins["supply"]["three_volt_three"]
    assert powers["pin-gnd"] == pins["supply"]["ground"]
    assert powers["pin-control-ground"] == pins["control"]["ground"]


def test_the_relay_terminals_are_drawn():
    for path in DIAGRAMS:
        texts = " ".join(t.text or "" for t in ET.parse(path).getroot().iter(f"{SVG}text"))
        assert re.search(r"\bCOM1?\b", texts) and re.search(r"\bNO1?\b", texts) and "NC" in texts, path.name


def guide_pin_table() -> dict:
    """{config key: (bcm, header pin)} from the guide's pin table."""
    text = (HARDWARE / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and re.fullmatch(r"`\w+\.pin`", cells[3]):
            rows[cells[3].strip("`")] = (int(cells[1]), int(cells[2]))
    return rows


def test_the_guides_pin_table_agrees_with_the_pin_map():
    pins = pin_map()
    table = guide_pin_table()
    assert table == {f"{d}.pin": (pins[d]["bcm"], pins[d]["physical"]) for d in DEVICES}


def test_the_guide_shows_both_diagrams_and_links_resolve():
    for guide in GUIDES:
        text = guide.read_text(encoding="utf-8")
        slugs = {_slug(h) for h in re.findall(r"^#+\s+(.*)$", text, re.M)}
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith("http"):
                continue
            file, _, anchor = target.partition("#")
            if file:
                linked = HARDWARE / file
                assert linked.exists(), f"{guide.name} links to a missing {file}"
                if anchor:
                    linked_slugs = {_slug(h) for h in re.findall(r"^#+\s+(.*)$", linked.read_text(), re.M)}
                    assert anchor in linked_slugs, f"{guide.name}: no heading #{anchor} in {file}"
            else:
                assert anchor in slugs, f"{guide.name}: no heading #{anchor}"
    readme = (HARDWARE / "README.md").read_text(encoding="utf-8")
    for name in ("power-cut.svg", "mic-line-cut.svg"):
        assert re.search(rf"!\[[^\]]{{20,}}\]\({re.escape(name)}\)", readme), f"{name} not shown with alt text"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def quoted_commands() -> list[tuple[str, str]]:
    """(file, command) for every `mickill ...` in inline code or a code block of the guides."""
    found = []
    for guide in GUIDES:
        text = guide.read_text(encoding="utf-8")
        blocks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
        inline = re.findall(r"(?<!`)`([^`\n]+)`(?!`)", re.sub(r"```.*?```", "", text, flags=re.S))
        for snippet in [*blocks, *inline]:
            for line in snippet.splitlines():
                match = re.search(r"(?:^|\s)(mickill\s.*)$", line.strip())
                if match:
                    found.append((guide.name, match.group(1)))
    return found


def test_the_guides_quote_commands():
    assert len(quoted_commands()) >= 5


@pytest.mark.parametrize("where,command", quoted_commands())
def test_every_quoted_command_exists_in_the_cli(where, command):
    words = shlex.split(command)[1:]
    subcommands = build_parser()._subparsers._group_actions[0].choices
    assert words[0] in subcommands, f"{where} quotes `{command}`, but there is no `mickill {words[0]}`"
    build_parser().parse_args(words)  # its options must exist too: bad usage exits

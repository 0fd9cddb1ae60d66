"""The README's configuration table lists every IogJupyterApp trait, in the words of its help."""

from __future__ import annotations

from pathlib import Path

from jupyter_server.extension.application import ExtensionApp

from iog_jupyter.app import IogJupyterApp

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_trait_is_documented_with_its_help():
    rows = {}
    for line in README.read_text().splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells
    inherited = set(ExtensionApp.class_traits(config=True))
    ours = {
        name: trait
        for name, trait in IogJupyterApp.class_traits(config=True).items()
        if name not in inherited
    }
    assert len(ours) >= 10
    for name, trait in ours.items():
        assert name in rows, f"README lacks a row for IogJupyterApp.{name}"
        assert rows[name][1] == type(trait).__name__, name
        meaning = rows[name][3]
        # The row says what help= says (a "Default: ..." tail may live in the default column).
        assert trait.help.split(" Default:")[0] == meaning.split(" Default:")[0], name


def test_configuration_tables_are_generated_from_the_traits():
    """README.md holds exactly what `python -m iog_jupyter.config --write` writes."""
    from iog_jupyter.config import AREAS, IogJupyterConfig, readme_with_table

    text = README.read_text()
    assert readme_with_table(text) == text, "run: python -m iog_jupyter.config --write"
    # Every trait of the app is in exactly one area, and the app has them all.
    names = [n for area in AREAS for n in area.class_own_traits(config=True)]
    assert len(names) == len(set(names))
    assert set(names) == set(IogJupyterConfig.class_traits(config=True))
    assert issubclass(IogJupyterApp, IogJupyterConfig)

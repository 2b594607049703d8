"""Every citation of the decision record resolves: each `docs/decisions.md §n` (or "decision
record §n") in the library, tests, benchmarks, notebooks and READMEs names a heading of
docs/decisions.md, a quoted part name after it ("Clip cap") appears in that section, the record's
own cross-references resolve, and the developers' private notes are cited nowhere. The other way
round, every reidlib file, module and name the record cites exists."""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "docs" / "decisions.md"
PRIVATE_NOTES = "REFERENCE" + ".md"  # spelled in two parts so that this file never cites it

# "docs/decisions.md" or "decision record", then one or more sections, each optionally followed
# by a quoted part name: `§3 "Schedule", §8`, `§4, "Clip cap"`, `§3 and §4`, `§1.2,\n§1.4`.
CITATION = re.compile(
    r"(?:docs/decisions\.md|decision record)"
    r"((?:[\s,;:]*(?:and\s+)?§\d+(?:\.\d+)*(?:\s*,?\s*\"[^\"\n]*\")?)+)"
)
CITED = re.compile(r"§(\d+(?:\.\d+)*)(?:\s*,?\s*\"([^\"\n]*)\")?")
HEADING = re.compile(r"^(#{2,3}) §(\d+(?:\.\d+)*) ", re.MULTILINE)
ARABIC = re.compile(r"§(\d+(?:\.\d+)*)")  # the paper's own sections are Roman: §III-B
EXPECTED_SECTIONS = "1 1.1 1.2 1.3 1.4 2 2.1 2.2 3 4 5 6 7 8 9".split()
# An Arabic section sign that is not the record's: (file, text just before it).
OTHER_SOURCES = {("reidlib/network/backbone.py", '"Accurate, large minibatch SGD", ')}


def record_sections(text: str) -> dict[str, str]:
    """Section number -> its text (subsections included), from `## §n` / `### §n.m` headings."""
    heads = list(HEADING.finditer(text))
    sections = {}
    for i, head in enumerate(heads):
        level = len(head.group(1))
        end = next((h.start() for h in heads[i + 1 :] if len(h.group(1)) <= level), len(text))
        sections[head.group(2)] = text[head.end() : end]
    return sections


def unresolved(text: str, sections: dict[str, str]) -> list[str]:
    """The record citations in `text` that name no section, or a part absent from it."""
    bad = []
    for citation in CITATION.finditer(text):
        for number, part in CITED.findall(citation.group(1)):
            if number not in sections:
                bad.append(f"§{number}")
            elif part and part.lower() not in sections[number].lower():
                bad.append(f'§{number} "{part}"')
    return bad


def stray_sections(text: str) -> list[tuple[str, str]]:
    """Arabic `§n` outside any record citation, as (number, the 40 characters before it)."""
    inside = [m.span(1) for m in CITATION.finditer(text)]
    return [
        (m.group(1), text[max(0, m.start() - 40) : m.start()].split("\n")[-1])
        for m in ARABIC.finditer(text)
        if not any(a <= m.start() < b for a, b in inside)
    ]


def cited_files() -> dict[str, str]:
    """Relative path -> text, notebooks as their joined cell sources; this file left out (its
    examples cite a missing section on purpose)."""
    paths = [ROOT / "README.md", ROOT / "data" / "README.md"]
    for folder in ("reidlib", "tests", "benchmarks"):
        paths += sorted((ROOT / folder).rglob("*.py"))
    texts = {}
    for path in paths:
        if path.resolve() != Path(__file__).resolve() and path.is_file():
            texts[path.relative_to(ROOT).as_posix()] = path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        sources = ("".join(cell["source"]) for cell in cells)
        texts[path.relative_to(ROOT).as_posix()] = "\n\n".join(sources)
    return texts


# A backticked snake_case name, alone or called or set: `extract_features`, `lr_at_epoch(e)`,
# `max_clips=None`. Names of other code bases the record cites by their source's name:
NAME = re.compile(r"`([a-z_][a-z0-9_]*_[a-z0-9_]*)(?:\([^`]*\))?(?:=[^`]*)?`")
OTHER_CODE = {
    "eval_market1501": "torchreid",
    "evaluate_cy": "fast-reid",
    "load_param": "Re-ID-AR",
    "max_length": "Re-ID-AR, VPRFT",
    "resnet50_ibn_a_old": "IBN-Net",
    "train_attn": "VPRFT",
}
PATH = re.compile(r"`((?:reidlib|tests|benchmarks|notebooks)/[^`<>*\s]+)`")
MODULE = re.compile(r"\breidlib(?:\.[A-Za-z_]\w*)+")


def reidlib_names() -> set[str]:
    """Every name reidlib defines, assigns, takes as an argument or spells as a string (a
    setting's choices, a file's keys)."""
    names = set()
    for path in (ROOT / "reidlib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)
    return names


def missing_names(text: str, names: set[str]) -> list[str]:
    """Backticked snake_case names in `text` that reidlib does not have (nor another source)."""
    return sorted({n for n in NAME.findall(text) if n not in names and n not in OTHER_CODE})


def missing_paths(text: str) -> list[str]:
    """Backticked repository paths in `text` that do not exist."""
    return sorted({p for p in PATH.findall(text) if not (ROOT / p).exists()})


def missing_modules(text: str) -> list[str]:
    """Dotted `reidlib.x.y` references that do not import or have no such attribute."""
    bad = []
    for dotted in sorted(set(MODULE.findall(text))):
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):
            try:
                found = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            for part in parts[i:]:
                found = getattr(found, part, None)
            if found is None:
                bad.append(dotted)
            break
    return bad


SECTIONS = record_sections(RECORD.read_text(encoding="utf-8"))
FILES = cited_files()


def test_the_record_keeps_its_section_numbers():
    assert list(SECTIONS) == EXPECTED_SECTIONS


def test_the_record_is_cited():
    cited = [name for name, text in FILES.items() if CITATION.search(text)]
    assert len(cited) >= 30, cited  # the library, tests, benchmarks and notebooks all cite it


def test_every_citation_resolves():
    bad = {name: found for name, text in FILES.items() if (found := unresolved(text, SECTIONS))}
    assert bad == {}, "cited but not in docs/decisions.md"


def test_no_bare_arabic_section_sign():
    """A `§n` that is not written as a record citation is another source's, named on its line."""
    bad = {}
    for name, text in FILES.items():
        stray = [
            (number, before)
            for number, before in stray_sections(text)
            if not any(name == f and before.endswith(s) for f, s in OTHER_SOURCES)
        ]
        if stray:
            bad[name] = stray
    assert bad == {}, "write these as `docs/decisions.md §n`, or name their source"


def test_private_notes_are_not_cited():
    assert [name for name, text in FILES.items() if PRIVATE_NOTES in text] == []


def test_the_records_own_cross_references_resolve():
    text = RECORD.read_text(encoding="utf-8")
    refs = {m.group(1) for m in ARABIC.finditer(text)}
    assert refs - set(SECTIONS) == set()
    assert PRIVATE_NOTES not in text


def test_the_checks_can_fail():
    assert unresolved("see docs/decisions.md §10", SECTIONS) == ["§10"]
    assert unresolved("(docs/decisions.md §1.2,\n§1.5)", SECTIONS) == ["§1.5"]
    assert unresolved('the decision record §3 "Sampler", §7.2', SECTIONS) == ["§7.2"]
    assert unresolved('docs/decisions.md §4, "Kernel rule"', SECTIONS) == ['§4 "Kernel rule"']
    assert unresolved('docs/decisions.md §1.2, "Kernel rule" and §8 (§IV-B)', SECTIONS) == []
    assert stray_sections("the test protocol, §4") == [("4", "the test protocol, ")]
    assert stray_sections("docs/decisions.md §3 and §4; the paper's §IV-B") == []


def test_every_reidlib_name_path_and_module_the_record_cites_exists():
    text = RECORD.read_text(encoding="utf-8")
    assert missing_names(text, reidlib_names()) == []
    assert missing_paths(text) == []
    assert missing_modules(text) == []


def test_the_name_checks_can_fail():
    names = reidlib_names()
    assert "extract_features" in names and "half_sum" in names
    text = "`embed_tracklet` keeps every clip (`max_clips=None`); `lr_at_epoch(e)`, `load_param`"
    assert missing_names(text, names) == ["embed_tracklet"]
    assert missing_paths("`reidlib/network/footprint.py`, `reidlib/memory/footprint.py`") == [
        "reidlib/network/footprint.py"
    ]
    assert missing_modules("reidlib.config.table5_chain, reidlib.config.embed") == [
        "reidlib.config.embed"
    ]

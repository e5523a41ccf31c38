"""Loading one level file: read → orjson → migrate → validate → compile (SPEC §3).

``load_level`` never raises for a bad file: it returns a ``LoadResult`` whose ``level``
is None when the file has errors, with every finding (file, line:column, JSON pointer,
sentence, hint). Warnings do not stop a load. After the compiler, the registry's checks
inside one level run (``registry.check_level``); the file's ``LevelFacts`` ride along
for the checks across levels of ``validate``. When pydantic refuses a value, the rest of
the file is still checked (``recovery.py``), so one run reports every finding.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from quest_runtime.levels.compiled import CompiledLevel
from quest_runtime.levels.compiler import LevelCompiler
from quest_runtime.levels.facts import LevelFacts, level_facts
from quest_runtime.levels.findings import Finding, Severity
from quest_runtime.levels.migrations import FormatError, migrate
from quest_runtime.levels.model import LevelModel
from quest_runtime.levels.plugin_events import check_plugin_events
from quest_runtime.levels.recovery import pointer_of, recover, related
from quest_runtime.levels.registry import check_level
from quest_runtime.levels.report import Reporter
from quest_runtime.levels.source import LevelSource, SourceError, parse_source

log = logging.getLogger(__name__)

_TYPE_WORDS = {
    "string_type": "a string", "int_type": "an integer", "int_parsing": "an integer",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "bool_parsing": "true or false", "list_type": "a list", "dict_type": "an object",
    "model_type": "an object", "model_attributes_type": "an object",
}


@dataclass(frozen=True, slots=True)
class LoadResult:
    path: str
    level_id: str | None
    level: CompiledLevel | None
    findings: tuple[Finding, ...]
    #: What the file defines and refers to, for the cross-level registry (also when the
    #: level has errors, as long as its JSON could be read).
    facts: LevelFacts | None = None

    @property
    def ok(self) -> bool:
        return self.level is not None


def level_id_for(path: Path) -> str:
    return path.stem


def load_level(path: Path, display: str | None = None, *, strict: bool = False) -> LoadResult:
    name = display or str(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        finding = Finding(name, 1, 1, "", Severity.ERROR, f"cannot read the file: {exc}",
                          code="unreadable")
        return LoadResult(name, None, None, (finding,))
    return load_level_bytes(raw_bytes, name, level_id_for(path), strict=strict)


def load_level_bytes(raw_bytes: bytes, name: str, default_id: str, *,
                     strict: bool = False) -> LoadResult:
    """Load one file's bytes. Whatever goes wrong inside (a bug, a bound we missed, a
    RecursionError or MemoryError on a hostile file) becomes an error finding for this
    file, so one file never stops the others, a reload or the service."""
    try:
        return _load_level_bytes(raw_bytes, name, default_id, strict=strict)
    except Exception as exc:  # the per-file fault boundary (issue 9)
        log.exception("internal error while loading %s", name)
        finding = Finding(name, 1, 1, "", Severity.ERROR,
                          f"internal error while checking this file ({type(exc).__name__}); "
                          "it is not served", "the service log has the details; please "
                          "report it with the file", code="internal_error")
        return LoadResult(name, None, None, (finding,))


def _load_level_bytes(raw_bytes: bytes, name: str, default_id: str, *,
                      strict: bool = False) -> LoadResult:
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError:
        finding = Finding(name, 1, 1, "", Severity.ERROR, "the file is not UTF-8 text",
                          "save it as UTF-8", code="not_utf8")
        return LoadResult(name, None, None, (finding,))
    try:
        source = parse_source(text, name)
    except SourceError as exc:
        return LoadResult(name, None, None, (exc.finding,))
    version = hashlib.sha256(raw_bytes).hexdigest()[:16]
    return compile_source(source, default_id, version, strict=strict)


def compile_source(source: LevelSource, default_id: str, version: str, *,
                   strict: bool = False) -> LoadResult:
    rep = Reporter(source, strict=strict)
    result = _compile_source(source, rep, default_id, version)
    if not _duplicate_keys(source, rep):
        return result
    findings = tuple(rep.findings)
    return replace(result, level=None, findings=findings)


def _duplicate_keys(source: LevelSource, rep: Reporter) -> bool:
    """Keys written twice in one object are errors at the second key (issue 10): JSON
    keeps the last member silently, so the first one would be lost. True when any."""
    reported = {f.pointer for f in rep.findings if f.code == "duplicate_id"}
    found = False
    for pointer, line, column in source.duplicate_keys():
        found = True
        if pointer in reported:  # already said, more precisely (dialogue node ids)
            continue
        reported.add(pointer)
        key = pointer.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
        rep.findings.append(Finding(
            source.path, line, column, pointer, Severity.ERROR,
            f"the key '{key}' is written twice in this object",
            "JSON keeps only the last one, so the first is silently lost: merge them or "
            "remove one", "duplicate_key"))
    return found


def _compile_source(source: LevelSource, rep: Reporter, default_id: str,
                    version: str) -> LoadResult:
    data = source.data
    if not isinstance(data, dict):
        rep.error("", f"a level file must hold a JSON object, not {type(data).__name__}",
                  'wrap it: {"tasks": [...]}', code="bad_type")
        return LoadResult(source.path, None, None, tuple(rep.findings))
    try:
        data = migrate(dict(data))
    except FormatError as exc:
        rep.error("/format", str(exc), code="bad_format")
        return LoadResult(source.path, None, None, tuple(rep.findings))
    try:
        model = LevelModel.model_validate(data)
    except ValidationError as exc:
        report_validation(exc, data, rep)
        return _check_recovered(source, data, exc, rep, _id_of(data, default_id), version)
    level_id = model.id or default_id
    level = LevelCompiler(model, rep, level_id, version).compile(source.path)
    facts = level_facts(model, source, level_id)
    check_level(facts, rep)
    if level is not None:
        check_plugin_events(level, data, rep)
    if level is not None and rep.has_errors:
        level = None
    elif level is not None and len(rep.findings) != len(level.findings):
        level = replace(level, findings=tuple(rep.findings))
    return LoadResult(source.path, level_id, level, tuple(rep.findings), facts)


def _check_recovered(source: LevelSource, data: dict[str, Any], exc: ValidationError,
                     rep: Reporter, level_id: str, version: str) -> LoadResult:
    """After pydantic refused values, check the rest of the file anyway (``recovery``):
    every finding at once, the level never served."""
    recovered = recover(data, exc)
    if recovered is None:
        return LoadResult(source.path, level_id, None, tuple(rep.findings))
    model, neutralised = recovered
    scratch = Reporter(source, strict=rep.strict)
    LevelCompiler(model, scratch, level_id, version).compile(source.path)
    facts = level_facts(model, source, level_id)
    check_level(facts, scratch)
    refused = [f.pointer for f in rep.findings]
    rep.findings.extend(f for f in scratch.findings
                        if not related(f.pointer, neutralised) and f.pointer not in refused)
    return LoadResult(source.path, level_id, None, tuple(rep.findings), facts)


def _id_of(data: dict[str, Any], default: str) -> str:
    value = data.get("id")
    return value if isinstance(value, str) and value else default


def report_validation(exc: ValidationError, data: Any, rep: Reporter) -> None:
    """Map pydantic errors to findings: loc → the JSON pointer of the value in the file.

    Union members add tags to ``loc`` (``str``, ``MilestoneModel``); we walk the data and
    keep only the parts that exist, so the pointer names the file's own path. Errors of
    one pointer (one per union member) are folded into one finding.
    """
    grouped: dict[str, list[dict[str, Any]]] = {}
    for err in exc.errors(include_url=False):
        pointer = pointer_of(data, err["loc"])
        grouped.setdefault(pointer, []).append(dict(err))
    for pointer, errs in grouped.items():
        rep.error(pointer, _message(pointer, errs), _hint(errs), code="bad_value")


def _message(pointer: str, errs: list[dict[str, Any]]) -> str:
    where = pointer.rsplit("/", 1)[-1] or "the level"
    types = [e["type"] for e in errs]
    literals = [str(e["ctx"]["expected"]) for e in errs
                if e["type"] == "literal_error" and "ctx" in e]
    if literals and all(t in _TYPE_WORDS or t == "literal_error" for t in types):
        words = [w for w in dict.fromkeys(_TYPE_WORDS.get(t, "") for t in types) if w]
        words = [w.replace(" or ", ", ") for w in words]
        words += [lit.replace("'", '"') for lit in " or ".join(literals).split(" or ")]
        listed = ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else words[0]
        return f"'{where}' must be {listed}, not {_json_type(errs[0].get('input'))}"
    if all(t in _TYPE_WORDS or t.endswith("_type") for t in types):
        words = list(dict.fromkeys(_TYPE_WORDS.get(t, t) for t in types))
        got = errs[0].get("input")
        return f"'{where}' must be {' or '.join(words)}, not {_json_type(got)}"
    if types[0] == "missing":
        return f"'{where}' is required"
    return f"'{where}': {errs[0]['msg'][:1].lower()}{errs[0]['msg'][1:]}"


#: The strict value policy (``params.py``): a quoted number or a boolean word gets a hint.
_NUMBER_TYPES = frozenset({"int_type", "float_type", "int_parsing", "float_parsing"})


def _hint(errs: list[dict[str, Any]]) -> str | None:
    t = errs[0]["type"]
    got = errs[0].get("input")
    types = {e["type"] for e in errs}
    if isinstance(got, str) and types & _NUMBER_TYPES:
        try:
            float(got)
        except ValueError:
            return None
        return f"write the number without quotes: {got.strip()}"
    if isinstance(got, str) and "bool_type" in types and "literal_error" not in types:
        return "write true or false, without quotes"
    if t in ("greater_than_equal", "greater_than"):
        return "use a positive number"
    if t == "string_pattern_mismatch":
        return "one of: auto, manual"
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__

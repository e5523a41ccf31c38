"""The ``quest-runtime`` command: serve, validate, preview, test, schema, studio (SPEC §7)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from quest_runtime.levels.files import level_files, refusal
from quest_runtime.levels.findings import Finding, Severity, sort_findings
from quest_runtime.levels.loader import LoadResult, load_level
from quest_runtime.levels.registry import registry_findings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="quest-runtime", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the service")
    s.add_argument("--levels", type=Path)
    s.add_argument("--db", type=Path)
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--token")
    s.add_argument("--admin-token", dest="admin_token")
    s.add_argument("--store", choices=["sqlite", "memory", "postgres"])
    s.add_argument("--dsn", help="PostgreSQL connection string (--store postgres)")
    s.add_argument("--pool-size", dest="pool_size", type=int,
                   help="PostgreSQL connections per instance (--store postgres)")
    s.add_argument("--synchronous", choices=["NORMAL", "FULL"])
    s.add_argument("--default-level", dest="default_level")
    s.add_argument("--log-level", dest="log_level")
    s.add_argument("--log-format", dest="log_format", choices=["json", "text"])
    s.add_argument("--watch", action=argparse.BooleanOptionalAction, default=None)
    s.add_argument("--strict", action=argparse.BooleanOptionalAction, default=None)
    s.add_argument("--config", type=Path, help="a TOML settings file")

    v = sub.add_parser("validate", help="check level files and report every finding")
    v.add_argument("paths", nargs="+", type=Path)
    v.add_argument("--strict", action="store_true", help="warnings count as errors")
    v.add_argument("--format", choices=["text", "json"], default="text")

    pr = sub.add_parser("preview", help="dry-run a scenario script against levels")
    pr.add_argument("--levels", type=Path, default=Path("levels"),
                    help="the levels folder (default levels/, as for test and serve)")
    pr.add_argument("script", type=Path, nargs="?", help="a *.scenario.jsonl script")
    pr.add_argument("--json", action="store_true", help="one JSON line per step")
    pr.add_argument("--default-level", dest="default_level")
    pr.add_argument("--strict", action="store_true")
    pr.add_argument("--explain", action="store_true",
                    help="per rule event: its atoms and why each task/listener did not fire")
    pr.add_argument("--watch", action="store_true",
                    help="play again whenever a level or the script changes")
    pr.add_argument("--interactive", action="store_true",
                    help="type events (near mia_npc, chat hello, advance 30, quit)")
    pr.add_argument("--player", default="Steve", help="the player of --interactive")
    pr.add_argument("--load", help="level to load first in --interactive")

    t = sub.add_parser("test", help="run every *.scenario.jsonl next to the levels")
    t.add_argument("path", type=Path, nargs="?", default=Path("levels"),
                   help="a levels folder (default levels/) or one scenario script")
    t.add_argument("--strict", action="store_true")
    t.add_argument("--default-level", dest="default_level")

    st = sub.add_parser("studio", help="the level map and simulator in a browser (local)")
    st.add_argument("--levels", type=Path, default=Path("levels"))
    st.add_argument("--port", type=int, default=8766, help="0 picks a free port")

    lv = sub.add_parser("levels", help="a network's levels (store = postgres)")
    lv_sub = lv.add_subparsers(dest="levels_command", required=True)
    pub = lv_sub.add_parser("publish", help="validate a folder, then publish it to every "
                                            "instance as the next level generation")
    pub.add_argument("folder", type=Path)
    pub.add_argument("--dsn", help="PostgreSQL connection string (else QUEST_RUNTIME_DSN "
                                   "or the config file's dsn)")
    pub.add_argument("--strict", action="store_true", help="warnings count as errors")
    pub.add_argument("--config", type=Path, help="a TOML settings file")

    sc = sub.add_parser("schema", help="write the JSON Schemas (level file, protocol)")
    sc.add_argument("--out", type=Path, default=Path("docs/schema"))
    return p


def run() -> int:
    """The console entry point. The tools print findings, failures and ensures
    violations themselves; without a handler Python would repeat engine log records on
    stderr, so the command line silences them (``serve`` configures JSON logs)."""
    logger = logging.getLogger("quest_runtime")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        return quiet_broken_pipe()
    return code


#: The exit status after the reader of stdout went away (``quest-runtime ... | head``):
#: the output was not finished, so not 0; 1, as ``rich`` exits when a card hits the
#: closed pipe, so every command ends the same way.
BROKEN_PIPE_STATUS = 1


def quiet_broken_pipe() -> int:
    """Stop quietly when stdout's reader has gone: no traceback, and no second error
    when Python flushes stdout at exit (it is pointed at the null device)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # pragma: no cover - stdout is not a real file
        pass
    return BROKEN_PIPE_STATUS


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "validate":
        return validate(args.paths, strict=args.strict, fmt=args.format)
    if args.command == "preview":
        from quest_runtime.designer.preview import preview

        return preview(args.levels, args.script, as_json=args.json,
                       default_level=args.default_level, strict=args.strict,
                       explain=args.explain, watch=args.watch, interactive=args.interactive,
                       player=args.player, load=args.load)
    if args.command == "test":
        from quest_runtime.designer.replay import run_tests

        return run_tests(args.path, strict=args.strict, default_level=args.default_level)
    if args.command == "schema":
        return write_schemas(args.out)
    if args.command == "studio":
        from quest_runtime.studio.app import run_studio

        return run_studio(args.levels, args.port)
    if args.command == "serve":
        from quest_runtime.server.main import serve

        return serve(args)
    if args.command == "levels":
        return publish(args)
    return 2  # pragma: no cover - argparse rejects other commands


def validate(paths: list[Path], *, strict: bool, fmt: str) -> int:
    """Every finding of every file at once: each file's own findings, then the
    cross-level registry's (``levels/registry.py``) over all files given."""
    findings: list[Finding] = []
    results: list[LoadResult] = []
    for path in paths:
        if path.is_dir():
            folder, files = path, level_files(path)
            if not files:
                findings.append(Finding(
                    str(path), 1, 1, "", Severity.ERROR if strict else Severity.WARNING,
                    "no level files (*.json) in this folder", "is this the levels folder?",
                    code="no_levels"))
        elif path.is_file():
            folder, files = path.parent, [path]
        else:
            findings.append(Finding(str(path), 1, 1, "", Severity.ERROR,
                                    "no such file or folder", code="missing_path"))
            continue
        for file in files:  # the service's symlink policy (levels/files.py)
            refused = refusal(folder, file, str(file))
            if refused is not None:
                findings.append(refused)
            else:
                results.append(load_level(file, str(file), strict=strict))
    for r in results:
        findings.extend(r.findings)
    findings.extend(registry_findings([r.facts for r in results if r.facts is not None],
                                      strict=strict))
    findings = sort_findings(findings)
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = len(findings) - errors
    loaded = sum(r.ok for r in results)
    if fmt == "json":
        sys.stdout.write(orjson.dumps({
            "files": len(results), "loaded": loaded, "errors": errors, "warnings": warnings,
            "findings": [f.to_dict() for f in findings]}).decode() + "\n")
    else:
        for f in findings:
            print(f.format())
        print(f"{loaded}/{len(results)} files loaded; {errors} errors, {warnings} warnings")
    return 1 if errors else 0


def publish(args: argparse.Namespace) -> int:
    """``levels publish DIR``: ``validate`` DIR; only without errors, store it as the next
    generation (store/postgres_levels.py) and print the generation."""
    import asyncio

    from quest_runtime.settings import Settings, SettingsError
    from quest_runtime.store.base import StoreError
    from quest_runtime.store.postgres import PostgresStore
    from quest_runtime.store.postgres_levels import read_generation

    try:
        settings = Settings.load(cli={"dsn": args.dsn}, config_file=args.config)
    except SettingsError as exc:
        print(f"quest-runtime: {exc}", file=sys.stderr)
        return 2
    if settings.dsn is None:
        print("quest-runtime: levels publish needs the database: --dsn, QUEST_RUNTIME_DSN "
              "or dsn in the config file", file=sys.stderr)
        return 2
    if not args.folder.is_dir():
        print(f"quest-runtime: {args.folder} is not a folder", file=sys.stderr)
        return 2
    if validate([args.folder], strict=args.strict, fmt="text") != 0:
        print("nothing published: fix the errors above first", file=sys.stderr)
        return 1
    files = read_generation(args.folder)

    async def store_it(dsn: str) -> int:
        store = PostgresStore(dsn, pool_size=2, writers=1)
        await store.open()
        try:
            return await store.publish_levels(files)
        finally:
            await store.close()

    try:
        generation = asyncio.run(store_it(settings.dsn))
    except StoreError as exc:
        print(f"quest-runtime: {exc}", file=sys.stderr)
        return 1
    print(f"published {len(files)} level files as generation {generation}")
    return 0


def write_schemas(out: Path) -> int:
    from bridge_protocol.schema import schemas
    from quest_runtime.levels.schema import level_schema

    out.mkdir(parents=True, exist_ok=True)
    docs = {"level": level_schema(), **schemas()}
    for name, schema in docs.items():
        target = out / f"{name}.schema.json"
        target.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2) + b"\n")
        print(target)
    return 0




if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

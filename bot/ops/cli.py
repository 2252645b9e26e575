"""The one command line: `python -m bot <command>` (validate, build, train, run, eval, ask,
schema, review, report, tickets, notify, retention, db, bench, web, actions, serve-rasa).

Every subcommand prints plain sentences for support staff and operators and exits non-zero on
failure; content mistakes never end in a Python traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import time
from pathlib import Path

from bot.settings.errors import ConfigError
from bot.settings.paths import DATA_DIR, knowledge_dir, var_dir
from bot.support.arguments import count


def _print_report(report, quiet_warnings: bool = False) -> None:
    for problem in report.problems:
        if quiet_warnings and problem.severity == "warning":
            continue
        print(problem)
    print(report.summary())


def cmd_validate(args: argparse.Namespace) -> int:
    from bot.content.checks import validate
    from bot.training import trainer

    directory = Path(args.knowledge) if args.knowledge else knowledge_dir()
    report = validate(directory, DATA_DIR, review_after_months=args.review_months)
    _print_report(report)
    if not report.ok:
        print("Fix the errors above, then run validate again.")
        return 1
    if args.knowledge is None:
        with tempfile.TemporaryDirectory() as tmp:
            b = trainer.build(out_dir=Path(tmp) / "rasa")
            if b.model.exists():
                print("Training data unchanged: answer edits are live without retraining.")
            else:
                print("New entries or examples since the last training: a running `make run` "
                      "retrains the model in the background when you save (about a minute); "
                      "otherwise the next `make run` does.")
    return 0


def _build_or_explain():
    """Validate and compile; on content errors print them and return None."""
    from bot.training import trainer

    try:
        return trainer.build()
    except trainer.ContentError as exc:
        print(exc)
        print("The knowledge base has errors: run `make validate` and fix them.")
        return None


def cmd_build(args: argparse.Namespace) -> int:
    b = _build_or_explain()
    if b is None:
        return 1
    print(b.report.summary())
    print(f"Training inputs written to {b.rasa_dir} (fingerprint {b.fingerprint}).")
    print("A trained model for these inputs exists." if b.model.exists()
          else "No model for these inputs yet: `python -m bot train` trains one.")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from bot.training import trainer

    b = _build_or_explain()
    if b is None:
        return 1
    if b.model.exists() and not args.force:
        print(f"Model up to date: {b.model}")
        return 0
    print("Training the model (about a minute on 2 cores)...", flush=True)
    try:
        model, seconds = trainer.train(b, force=args.force)
    except RuntimeError as exc:
        print(exc)
        return 1
    print(f"Trained {model} in {seconds:.0f}s.")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """`db init`: create every table of the application database and seed the demo records."""
    import sqlalchemy as sa

    from bot import appdb
    from bot.appdb.demo_data import seed_demo_declarations

    try:
        appdb.init_db()
        added = seed_demo_declarations()
    except sa.exc.SQLAlchemyError as error:
        print(f"Cannot prepare the application database: {type(error).__name__}: "
              f"{str(error).splitlines()[0]}")
        return 1
    print(f"database ready ({sa.engine.make_url(appdb.database_url()).render_as_string()}); "
          f"{added} demo declaration(s) added")
    return 0


def _init_database(env: dict[str, str]) -> None:
    """`db init` in a child with the assistant's environment (its database settings)."""
    import subprocess

    from bot.settings.paths import ROOT

    subprocess.run([sys.executable, "-m", "bot", "db", "init"], cwd=ROOT, env=env, check=True)


def cmd_run(args: argparse.Namespace) -> int:
    from bot.ops import launcher
    from bot.ops.retrain import knowledge_stamp
    from bot.training import trainer

    started = time.monotonic()
    env = launcher.environment()
    stamp = knowledge_stamp(knowledge_dir())  # saves during the training below retrain later
    b = _build_or_explain()
    if b is None:
        return 1
    print(b.report.summary(), flush=True)
    if b.model.exists():
        print(f"Model up to date ({b.model.name}): starting without training.", flush=True)
    else:
        log = var_dir() / "log" / "train.log"
        print(f"Training data changed: training the model (about a minute; log: {log})...",
              flush=True)
        try:
            _, seconds = trainer.train(b, log=log)
        except RuntimeError as exc:
            print(exc)
            return 1
        print(f"Trained in {seconds:.0f}s.", flush=True)
    _init_database(env)
    stack = launcher.Stack(model=b.model, env=env, live_retrain=True, knowledge_stamp=stamp,
                           notify=lambda text: print(text, flush=True))

    def stop(signum, frame):  # noqa: ARG001 - signal handler signature
        # make forwards a second SIGTERM; one is enough to stop everything.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        print("Starting the action server and the Rasa server...", flush=True)
        stack.start()
        stack.wait_ready()
        print(f"\nThe assistant is running (ready in {time.monotonic() - started:.0f}s).")
        if "web" in stack.procs:
            print(f"  Chat page:     {stack.web_url}")
        print(f"  REST channel:  {stack.rasa_url}/webhooks/rest/webhook")
        print(f"  Logs:          {stack.log_dir}/")
        if stack.retrainer is not None:
            print("New entries or examples saved in knowledge/ retrain in the background and go "
                  "live without a restart (LIVE_RETRAIN=off to turn off).")
        print("Press Ctrl-C to stop.", flush=True)
        dead = stack.supervise()
        print(f"{', '.join(dead)} stopped unexpectedly:")
        for name in dead:
            print(stack.log_tail(name))
        return 1
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    except ConfigError as exc:
        print(exc)
        return 1
    finally:
        stack.stop()


def cmd_eval(args: argparse.Namespace) -> int:
    import warnings

    warnings.simplefilter("ignore")  # library deprecation noise would bury the figures
    from bot.training import evaluate, trainer

    try:
        if args.set:
            return evaluate.main_set(Path(args.set), totals_only=args.totals)
        if args.totals:
            print("--totals goes with --set FILE (make eval prints the held-out totals).")
            return 2
        return evaluate.main(conversations=_eval_assistant)
    except trainer.ContentError as exc:
        print(exc)
        return 1


@contextlib.contextmanager
def _eval_assistant(model: Path, overrides: dict[str, str]):
    """A scratch assistant on loopback for the multi-turn evaluation: yields send(sender, text)."""
    from functools import partial

    from bot.ops import launcher

    with tempfile.TemporaryDirectory(prefix="eval-") as tmp, \
            launcher.scratch_stack(model, Path(tmp), overrides=overrides, web=False) as stack:
        yield partial(launcher.rest_send, f"{stack.rasa_url}/webhooks/rest/webhook")


def cmd_report(args: argparse.Namespace) -> int:
    from bot.support import report

    return report.main(days=args.days, since=args.since, until=args.until,
                       out_dir=Path(args.out) if args.out else None)


def cmd_ask(args: argparse.Namespace) -> int:
    """What the bot would do with a wording: the model in-process, no servers."""
    from bot.support import ask

    return ask.main(args.question, file=Path(args.file) if args.file else None,
                    conversation=args.conversation, timing=args.timing,
                    model=Path(args.model) if args.model else None)


def cmd_schema(args: argparse.Namespace) -> int:
    """Write the editor's JSON Schemas (knowledge/schema/) and the modeline of every file."""
    from bot.content import schema

    directory = Path(args.knowledge) if args.knowledge else knowledge_dir()
    changed = schema.write_schemas(directory) + schema.add_modelines(directory)
    for path in changed:
        print(f"wrote {path}")
    print(f"Schemas up to date in {directory / schema.SCHEMA_DIR} "
          f"({len(changed)} file(s) changed).")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from bot.support import review

    return review.main(owner=args.owner)


def cmd_retention(args: argparse.Namespace) -> int:
    from bot.support import retention

    return retention.main(days=args.days, dry_run=args.dry_run)


def cmd_bench(args: argparse.Namespace) -> int:
    from bot.ops import bench

    return bench.main(args.rest)


def cmd_web(args: argparse.Namespace) -> int:
    from bot.ops import webserver

    return webserver.main(args.rest)


def cmd_actions(args: argparse.Namespace) -> int:
    """The action server on ACTION_BIND_HOST behind ACTION_SERVER_TOKEN (bot/ops/action_server)."""
    from bot.ops import action_server

    return action_server.main(args.rest)


def cmd_serve_rasa(args: argparse.Namespace) -> int:
    """The Rasa server alone, configured from the environment as `make run` does (containers)."""
    import os

    from bot.ops import launcher

    env = launcher.environment()
    model = args.model or os.environ.get("MODEL_PATH") or "models"
    try:
        cmd = launcher.rasa_command(env, Path(model), Path(args.run_dir))
    except ConfigError as exc:
        print(exc)
        return 1
    from bot.metrics import DIR_ENV, prepare_dir

    # The Rasa server's folder of metric values (its Sanic workers add up), emptied.
    prepare_dir(env.get(DIR_ENV) or Path(args.run_dir) / "metrics", env)
    os.execve(cmd[0], cmd, env)
    return 0  # not reached


# Commands whose own options are passed through to their module's parser.
PASS_THROUGH = {"bench", "web", "actions"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="check the knowledge base without training")
    p.add_argument("--knowledge", help="knowledge folder (default: knowledge/)")
    p.add_argument("--review-months", type=int, default=None,
                   help="warn about entries not reviewed for this many months")
    p.set_defaults(func=cmd_validate)
    sub.add_parser("build", help="validate and compile Rasa training data into build/") \
        .set_defaults(func=cmd_build)
    p = sub.add_parser("train", help="train a model if the training data changed")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_train)
    sub.add_parser("run", help="validate, train if needed, and start the assistant") \
        .set_defaults(func=cmd_run)
    p = sub.add_parser("eval", help="train if needed, then measure understanding on held-out "
                       "questions")
    p.add_argument("--set", help="score this file (eval/heldout.yml's format, e.g. "
                   "eval/dev_clean.yml) instead: per entry, confusions, totals and its misses")
    p.add_argument("--totals", action="store_true",
                   help="with --set: only the totals (for a check set kept blind)")
    p.set_defaults(func=cmd_eval)
    p = sub.add_parser("report", help="support-unit report (Markdown and HTML) for a period")
    p.add_argument("--days", type=count, default=None, help="the last N days up to today (7)")
    p.add_argument("--since", type=_date, help="first day, YYYY-MM-DD")
    p.add_argument("--until", type=_date, help="last day, YYYY-MM-DD (default today)")
    p.add_argument("--out", help="folder for the report files (default var/reports)")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("ask", help="what the bot would answer to a wording (no servers)")
    p.add_argument("question", nargs="*", help="the wording(s) to try, each in quotes")
    p.add_argument("--file", help="a file with one wording a line: prints a table")
    p.add_argument("--conversation", action="store_true",
                   help="the questions are one conversation (follow-ups)")
    p.add_argument("--timing", action="store_true", help="print the time to the first answer")
    p.add_argument("--model", help="model file (default: the one for the current knowledge)")
    p.set_defaults(func=cmd_ask)
    p = sub.add_parser("schema", help="write the JSON Schemas editors use (knowledge/schema/)")
    p.add_argument("--knowledge", help="knowledge folder (default: knowledge/)")
    p.set_defaults(func=cmd_schema)
    p = sub.add_parser("review", help="entries due for review, grouped by owner, oldest first")
    p.add_argument("--owner", help="only this owner's entries (as written in `owner:`)")
    p.set_defaults(func=cmd_review)
    from bot.support.tickets import add_parser as add_tickets

    add_tickets(sub)
    from bot.notify.command import add_parser as add_notify

    add_notify(sub)
    p = sub.add_parser("retention", help="delete conversations older than "
                       "CONVERSATION_RETENTION_DAYS (180) days")
    p.add_argument("--days", type=count, default=None, help="override the retention period")
    p.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    p.set_defaults(func=cmd_retention)
    p = sub.add_parser("db", help="the application database")
    p.add_argument("action", choices=["init"], help="init: create every table, seed demo data")
    p.set_defaults(func=cmd_db)
    sub.add_parser("bench", help="load benchmark (options: python -m bot bench --help)",
                   add_help=False).set_defaults(func=cmd_bench)
    sub.add_parser("web", help="serve the demo page with the chat widget",
                   add_help=False).set_defaults(func=cmd_web)
    sub.add_parser("actions", help="the action server (loopback; shared secret when "
                   "ACTION_SERVER_TOKEN is set)", add_help=False).set_defaults(func=cmd_actions)
    p = sub.add_parser("serve-rasa", help="run the Rasa server configured from the environment")
    p.add_argument("--model", help="model file or folder (default $MODEL_PATH or models/)")
    p.add_argument("--run-dir", default="build/run", help="where the effective config is written")
    p.set_defaults(func=cmd_serve_rasa)
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in PASS_THROUGH:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    return args.func(args)


def _date(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-29") from error


if __name__ == "__main__":
    sys.exit(main())

"""`grader check | batch | demo | sandbox | doctor`: parse, call, print, exit code. No grading logic lives here.

Exit codes: 0 every check passed (advisory checks may warn); 1 some check failed or was
skipped; 2 the grader could not grade (bad input, credentials, unreachable endpoint) or some
check could not be looked at.

Every string the grader did not write itself (check messages and hints, which quote a student's
pool, client and website; names, paths and options the user typed; scenario text) is printed
through `safe`: Rich markup in it is shown as text, and control characters and terminal escape
sequences are removed, so nothing a student controls can restyle, rewrite or break the output.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from grader import __version__
from grader.errors import GraderError
from grader.observe import DEFAULT_DEADLINE_S
from grader.spec import DEFAULT_SPEC, LabSpec, SpecError, load_spec
from grader.target import OPTION_HELP, target_from_options
from grader.terminal import console, exit_code, safe, show, stop
from grader.text import plain

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Grades the Cognito lab (module 03) in a student's AWS account, into an HTML report.",
)
SpecOption = Annotated[str, typer.Option(metavar="SPEC", help="Lab spec: a built-in id or the path of a .toml file.")]
OutOption = Annotated[Path, typer.Option(metavar="FOLDER", help="Folder for <student>/report.html and results.json.")]
ProxyOption = Annotated[
    str | None, typer.Option(metavar="URL", help="Proxy for every request (default: HTTPS_PROXY, HTTP_PROXY).")
]
CaBundleOption = Annotated[
    Path | None, typer.Option(metavar="FILE", help="PEM file of the CAs to trust (default: AWS_CA_BUNDLE).")
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", metavar="", help="List every check, the passed ones too, by section.")
]
TableOption = Annotated[
    bool, typer.Option("--table", metavar="", help="Show the grade as a table of every check instead.")
]
LatencyOption = Annotated[
    str,
    typer.Option(
        metavar="PROFILE",
        help="The sandbox's latency: zero (answers at once) or realistic (real AWS's delays, docs/speed.md).",
    ),
]


def latency_profile(name: str) -> Any:
    """The sandbox latency profile called `name`; stops with the known names otherwise."""
    from grader.sandbox.latency import profile_named

    try:
        return profile_named(name)
    except ValueError as exc:
        raise stop(f"--latency: {exc}.") from None


def use_network(proxy: str | None, ca_bundle: Path | None) -> None:
    """Route everything through `proxy` and trust `ca_bundle` (or the environment's); stop on a bad one."""
    from grader.network import configure

    try:
        configure(proxy, ca_bundle)
    except GraderError as exc:
        raise stop(exc.message) from None


def out_problem(out: Path) -> str | None:
    """Why `--out` cannot hold the reports (a file, or a folder that cannot be written), or None.

    Checked before any work, without making anything: the nearest folder that exists must take a file.
    """
    nearest = out
    try:
        while not nearest.exists() and nearest.parent != nearest:
            nearest = nearest.parent
        if nearest.exists() and not nearest.is_dir():
            if nearest == out:
                return f"--out {out} is a file, not a folder. Name a folder for the reports (it is made if missing)."
            return (
                f"--out {out} cannot be made: {nearest} is a file, not a folder. Name another folder for the reports."
            )
        with tempfile.TemporaryFile(dir=nearest):
            pass
    except OSError as exc:  # not writable, or a folder on the way cannot even be looked into
        return (
            f"--out {out} cannot be written ({exc.strerror or type(exc).__name__} in {nearest}). "
            "Name a folder you can write to."
        )
    return None


def usable_out(out: Path) -> Path:
    problem = out_problem(out)
    if problem:
        raise stop(problem)
    return out


def load(spec: str) -> LabSpec:
    try:
        return load_spec(spec)
    except SpecError as exc:
        raise stop(str(exc)) from None


@app.command()
def check(
    profile: Annotated[str | None, typer.Option(metavar="NAME", help=OPTION_HELP["profile"])] = None,
    credentials_file: Annotated[Path | None, typer.Option(metavar="FILE", help=OPTION_HELP["credentials_file"])] = None,
    region: Annotated[str, typer.Option(metavar="REGION", help=OPTION_HELP["region"])] = "us-east-1",
    endpoint_url: Annotated[str | None, typer.Option(metavar="URL", help=OPTION_HELP["endpoint_url"])] = None,
    site_url: Annotated[str | None, typer.Option(metavar="URL", help=OPTION_HELP["site_url"])] = None,
    student: Annotated[str | None, typer.Option(metavar="NAME", help=OPTION_HELP["student"])] = None,
    browser_path: Annotated[str | None, typer.Option(metavar="PATH", help=OPTION_HELP["browser_path"])] = None,
    spec: SpecOption = DEFAULT_SPEC,
    out: OutOption = Path("reports"),
    deadline: Annotated[
        float,
        typer.Option(min=1, metavar="SECONDS", help="Seconds the grader may take to observe the account and website."),
    ] = DEFAULT_DEADLINE_S,
    proxy: ProxyOption = None,
    ca_bundle: CaBundleOption = None,
    verbose: VerboseOption = False,
    table: TableOption = False,
) -> None:
    """Grade one account (yours, by default from your AWS credentials)."""
    from grader.pipeline import grade

    use_network(proxy, ca_bundle)
    lab = load(spec)
    usable_out(out)
    target = target_from_options(
        {
            "profile": profile,
            "credentials_file": credentials_file,
            "region": region,
            "endpoint_url": endpoint_url,
            "site_url": site_url,
            "student": student,
            "browser_path": browser_path,
        }
    )
    with console.status("Grading…"):
        try:
            result = grade(target, lab, out, deadline_s=deadline)
        except GraderError as exc:
            raise stop(exc.message) from None
    show(result, out, named=bool(student), verbose=verbose, table=table)
    raise typer.Exit(exit_code(result))


@app.command()
def demo(
    scenario: Annotated[str, typer.Option(help="Scenario to grade (see --list).")] = "finished",
    list_: Annotated[bool, typer.Option("--list", metavar="", help="List the scenarios and exit.")] = False,
    class_: Annotated[
        bool, typer.Option("--class", metavar="", help="Grade a small class instead: roster, batch, class.html.")
    ] = False,
    out: OutOption = Path("reports"),
    verbose: VerboseOption = False,
    table: TableOption = False,
    latency: LatencyOption = "zero",
) -> None:
    """Grade a lab in the embedded sandbox: no AWS account needed."""
    from grader.sandbox.scenarios import ScenarioError, load_scenario, scenario_names

    profile = latency_profile(latency)
    if class_:
        raise typer.Exit(_demo_class(out, profile))

    if list_:
        try:
            listed = [(name, load_scenario(name).summary) for name in scenario_names()]
        except ScenarioError as exc:
            raise stop(str(exc)) from None
        for name, summary in listed:
            console.print(f"[bold]{safe(f'{name:28}', newlines=False)}[/] {safe(summary)}")
        return
    usable_out(out)
    from grader.sandbox import Sandbox
    from grader.sandbox.demo import grade_scenario

    try:
        load_scenario(scenario)
    except ScenarioError as exc:
        raise stop(str(exc)) from None
    with console.status(f"Starting the sandbox and doing the lab ({safe(scenario)})…"), Sandbox() as sandbox:
        try:
            chosen, result = grade_scenario(sandbox, scenario, out, latency=profile)
        except GraderError as exc:
            raise stop(exc.message) from None
    console.print(f"[bold]Scenario {safe(chosen.name)}:[/] {safe(chosen.summary)}")
    show(result, out, named=True, verbose=verbose, table=table)
    raise typer.Exit(exit_code(result))


def _demo_class(out: Path, latency: Any = None) -> int:
    """Provision DEMO_CLASS in the sandbox and batch-grade it into <out>/demo-class/: the exit code."""
    from grader.batch.command import batch_command
    from grader.batch.runner import BatchOptions
    from grader.sandbox import Sandbox
    from grader.sandbox.classroom import DEMO_CLASS, set_up_class

    folder = usable_out(out) / "demo-class"
    try:
        with Sandbox() as box:
            with console.status("Starting the sandbox and doing each student's lab in an account of their own…"):
                roster = set_up_class(box, DEMO_CLASS, folder / "handed-in")
            console.print(f"Roster: {safe(roster)} ({len(DEMO_CLASS)} students, each in a sandbox account)")
            box.set_latency(latency)
            options = BatchOptions(out=folder, spec=load_spec(DEFAULT_SPEC), endpoint_url=box.url, deadline_s=60)
            return batch_command(
                roster, options, resume=False, only=None, skip_bad_rows=False, console=console, safe=safe
            )
    except GraderError as exc:
        raise stop(exc.message) from None


@app.command()
def sandbox(
    scenario: Annotated[str | None, typer.Option(help="Provision this scenario first.")] = None,
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 0,
    site: Annotated[
        Path | None,
        typer.Option(help="Serve this folder (a course website) as the running EC2 instance's website."),
    ] = None,
    as_aws: Annotated[
        bool,
        typer.Option(
            "--as-aws",
            metavar="",
            help="Also answer AWS's own host names over TLS, as an HTTPS proxy: grade without --endpoint-url.",
        ),
    ] = False,
    latency: LatencyOption = "zero",
) -> None:
    """Run the sandbox as a local AWS endpoint until interrupted (Ctrl-C)."""
    from grader.sandbox import Sandbox
    from grader.sandbox.demo import set_up
    from grader.sandbox.scenarios import ScenarioError, load_scenario
    from grader.sandbox.sites import site_folder_problem

    try:
        chosen = load_scenario(scenario) if scenario else None
    except ScenarioError as exc:
        raise stop(str(exc)) from None
    if site is not None and site_folder_problem(site):
        raise stop(f"--site: {site_folder_problem(site)}")
    profile = latency_profile(latency)
    box = Sandbox(port=port)
    try:
        url = box.start()
    except OSError as exc:
        raise stop(f"The sandbox could not listen on port {port} ({exc.strerror}); choose another --port.") from None
    try:
        if chosen is not None:
            made = set_up(box, chosen)
            console.print(f"Provisioned scenario {safe(chosen.name)}: {safe(chosen.summary)}")
            for key, value in vars(made).items():
                if value:
                    console.print(f"  {safe(key)}: {safe(value)}")
        if site is not None:
            host = box.serve_folder(site)
            where = f"https://{host}/ and http://{host}/" if host else "the first EC2 instance that starts"
            console.print(f"Serving the website in {safe(site)} for {safe(where)} (files are read at each request).")
        box.set_latency(profile)  # after provisioning: only the grader's reads wait
        if profile is not None:
            console.print(f"Answering with {profile.name} latency (docs/speed.md).")
        console.print(f"Sandbox listening at [bold]{safe(url)}[/] (any access key works; region us-east-1).")
        console.print(f"Grade it with: grader check --endpoint-url {safe(url)}")
        if as_aws:
            from grader.sandbox.aws_proxy import AwsProxy, environment_lines

            proxy = AwsProxy(box)
            proxy.start()
            console.print(
                f"Also answering AWS's host names through the proxy {safe(proxy.url)}, with certificates of a CA "
                "made for this run. To grade as against AWS (no --endpoint-url), set these in the shell, "
                "then run grader check:"
            )
            for line in environment_lines(proxy):
                # One unquoted line each, to paste: no markup, no wrapping.
                console.print(plain(line, newlines=False), soft_wrap=True, markup=False)
        console.print("Press Ctrl-C to stop.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.print("Sandbox stopped.")
    finally:
        box.stop()


@app.command()
def batch(
    roster: Annotated[Path, typer.Argument(help="The class roster (CSV): student_id and one way in per row.")],
    out: Annotated[
        Path | None, typer.Option(metavar="FOLDER", help="Folder for the class files (default reports/<roster name>/).")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=32, metavar="N", help="Students observed at a time.")] = 4,
    lanes: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=16,
            metavar="N",
            help="Browsers for the students' logins (default: one per core, fewer if memory is short).",
        ),
    ] = None,
    spec: SpecOption = DEFAULT_SPEC,
    region: Annotated[str, typer.Option(metavar="REGION", help="Region of a row that names none.")] = "us-east-1",
    endpoint_url: Annotated[str | None, typer.Option(metavar="URL", help=OPTION_HELP["endpoint_url"])] = None,
    browser_path: Annotated[str | None, typer.Option(metavar="PATH", help=OPTION_HELP["browser_path"])] = None,
    deadline: Annotated[
        float, typer.Option(min=5, metavar="SECONDS", help="Seconds each student's observation may take.")
    ] = DEFAULT_DEADLINE_S,
    resume: Annotated[
        bool, typer.Option("--resume", metavar="", help="Grade only the rows without a finished result.")
    ] = False,
    only: Annotated[
        str | None,
        typer.Option(metavar="WHICH", help="Re-grade only these rows, keep the rest: failed, ungradable or below-max."),
    ] = None,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", metavar="", help="Grade the good rows of a roster with bad ones.")
    ] = False,
    shard: Annotated[
        str | None,
        typer.Option(metavar="K/N", help="Grade every N-th row from the K-th, into its own folder (see merge)."),
    ] = None,
    allow_local_sites: Annotated[
        bool,
        typer.Option(
            "--allow-local-sites",
            metavar="",
            help="Visit a roster's site_url on this machine's own network (loopback, private): for sites you run.",
        ),
    ] = False,
    proxy: ProxyOption = None,
    ca_bundle: CaBundleOption = None,
) -> None:
    """Grade a whole class from a roster: every student's report, class.csv, class.html, junit.xml, Gradescope files."""
    from grader.batch.command import batch_command
    from grader.batch.runner import BatchOptions

    use_network(proxy, ca_bundle)
    if only not in (None, "failed", "ungradable", "below-max"):
        raise stop(f"--only {only} is not one of failed, ungradable, below-max.")
    if not roster.is_file():
        raise stop(f"The roster {roster} does not exist (a CSV file with a student_id column).")
    if shard is not None:
        from grader.batch.model import parse_shard

        try:
            parse_shard(shard)
        except ValueError as exc:
            raise stop(str(exc)) from None
    default = (roster.stem or "class") + (f"-shard-{shard.replace('/', '-of-')}" if shard else "")
    folder = out or Path("reports") / default
    usable_out(folder)
    try:
        options = BatchOptions(
            out=folder,
            spec=load_spec(spec),
            region=region,
            endpoint_url=endpoint_url,
            browser_path=browser_path,
            workers=workers,
            lanes=lanes,
            deadline_s=deadline,
            allow_local_sites=allow_local_sites,
        )
        code = batch_command(
            roster,
            options,
            resume=resume,
            only=only,  # type: ignore[arg-type]  # one of the three, checked above
            skip_bad_rows=skip_bad_rows,
            shard=shard or "",
            console=console,
            safe=safe,
        )
    except SpecError as exc:
        raise stop(str(exc)) from None
    except GraderError as exc:
        raise stop(exc.message) from None
    raise typer.Exit(code)


@app.command()
def merge(
    folders: Annotated[list[Path], typer.Argument(help="The shard folders `grader batch --shard` wrote.")],
    out: Annotated[Path, typer.Option(help="The class folder to make from them.")],
    partial: Annotated[
        bool,
        typer.Option("--partial", metavar="", help="Merge the shards given although some of the split are missing."),
    ] = False,
) -> None:
    """Join the shard folders of one roster into one class folder, as if graded in one run."""
    from grader.batch.merge import merge_shards, missing_phrase
    from grader.batch.model import outcome_counts

    usable_out(out)
    try:
        merged = merge_shards(folders, out, partial=partial)
    except GraderError as exc:
        raise stop(exc.message) from None
    missing = ""
    if merged.missing:
        missing = f" ({missing_phrase(merged.missing)}: the class files hold only the shards merged)"
    console.print(
        f"Merged {len(folders)} folders: {outcome_counts(merged.outcomes)}{missing}. "
        f"Class page: {safe(out / 'class.html')}"
    )


@app.command()
def rejudge(
    folder: Annotated[Path, typer.Argument(help="A student's report folder, or the --out folder of `grader batch`.")],
    spec: Annotated[
        str | None, typer.Option(metavar="SPEC", help="Judge with this spec instead (a built-in id or a .toml file).")
    ] = None,
) -> None:
    """Judge saved evidence again, offline: new points, an advisory check, or a newer grader's checks."""
    from grader.rejudge import rejudge as rejudge_folder

    try:
        done = rejudge_folder(folder, load(spec) if spec else None)
    except GraderError as exc:
        raise stop(exc.message) from None
    for result in done.results:
        console.print(f"{safe(result.student)}: {result.score:g}/{result.max_score:g}")
    where = safe(folder / "class.html") if done.outcomes is not None else safe(folder / "report.html")
    console.print(f"Judged {len(done.results)} saved grade(s) again, offline. See {where}")


@app.command()
def gradescope(
    submission: Annotated[Path, typer.Option(help="The student's submission folder.")] = Path("/autograder/submission"),
    results: Annotated[Path, typer.Option(help="Where Gradescope reads the results.")] = Path(
        "/autograder/results/results.json"
    ),
    spec: SpecOption = DEFAULT_SPEC,
    region: Annotated[str, typer.Option(metavar="REGION", help=OPTION_HELP["region"])] = "us-east-1",
    endpoint_url: Annotated[str | None, typer.Option(metavar="URL", help=OPTION_HELP["endpoint_url"])] = None,
    proxy: ProxyOption = None,
    ca_bundle: CaBundleOption = None,
) -> None:
    """Gradescope's autograder entry point: grade the credentials file the student submitted into results.json."""
    from grader.gradescope import run_autograder

    use_network(proxy, ca_bundle)
    raise typer.Exit(run_autograder(submission, results, spec=spec, region=region, endpoint_url=endpoint_url))


@app.command("gradescope-package")
def gradescope_package(
    out: Annotated[Path, typer.Option(help="The autograder zip to upload to Gradescope.")] = Path("autograder.zip"),
    spec: SpecOption = DEFAULT_SPEC,
    region: Annotated[
        str, typer.Option(help="Region of every submission's lab (AWS Academy's Learner Lab: us-east-1).")
    ] = "us-east-1",
) -> None:
    """Build the autograder zip: setup.sh installs the grader (a wheel inside) and a Chromium; run_autograder grades."""
    from grader.gradescope import build_package

    try:
        made = build_package(out, spec=spec, region=region)
    except GraderError as exc:
        raise stop(exc.message) from None
    console.print(f"Autograder: {safe(made)} (upload it in Gradescope: Configure Autograder > Zip file upload)")


export_app = typer.Typer(no_args_is_help=True, help="Gradebook files from a class's batch folder.")
app.add_typer(export_app, name="export")


@export_app.command("canvas")
def export_canvas(
    folder: Annotated[Path, typer.Argument(help="The folder `grader batch` wrote (with batch.json).")],
    gradebook: Annotated[Path, typer.Option(help="The course's gradebook, exported from Canvas (CSV).")],
    assignment: Annotated[str, typer.Option(help='The gradebook\'s assignment column, e.g. "Lab 3 (12345)".')],
    out: Annotated[Path, typer.Option(help="The CSV to import into Canvas.")],
    new_column: Annotated[
        bool,
        typer.Option("--new-column", metavar="", help="Add the assignment as a new column if the gradebook has none."),
    ] = False,
) -> None:
    """Fill the batch's scores into a Canvas gradebook export, matching students by SIS login, Canvas id or email."""
    from grader.batch.canvas import CanvasError, fill_gradebook_file
    from grader.batch.outputs import outcomes_of

    try:
        outcomes = outcomes_of(folder)
    except GraderError as exc:
        raise stop(exc.message) from None
    if out.is_dir() or out_problem(out.parent):
        raise stop(f"--out {out} cannot be written: name a file in a folder the grader can write to.")
    try:
        filled = fill_gradebook_file(gradebook, out, assignment, outcomes, new_column=new_column)
    except CanvasError as exc:
        raise stop(str(exc)) from None
    except OSError as exc:
        raise stop(f"--out {out} could not be written ({exc.strerror or type(exc).__name__}).") from None
    console.print(
        f"Wrote {filled.written} scores into the column {safe(filled.column)} of {safe(out)}"
        + (
            f"; {len(filled.left_empty)} students without a complete grade (ungradable, not graded yet, or with a "
            "check the grader could not look at) left as they were: grade them again with grader batch --resume "
            "or --only failed"
            if filled.left_empty
            else ""
        )
        + ". Import it in Canvas: Grades > Import."
    )


@app.command()
def doctor(
    profile: Annotated[str | None, typer.Option(metavar="NAME", help=OPTION_HELP["profile"])] = None,
    credentials_file: Annotated[Path | None, typer.Option(metavar="FILE", help=OPTION_HELP["credentials_file"])] = None,
    region: Annotated[str, typer.Option(metavar="REGION", help=OPTION_HELP["region"])] = "us-east-1",
    endpoint_url: Annotated[str | None, typer.Option(metavar="URL", help=OPTION_HELP["endpoint_url"])] = None,
    browser_path: Annotated[str | None, typer.Option(metavar="PATH", help=OPTION_HELP["browser_path"])] = None,
    spec: SpecOption = DEFAULT_SPEC,
    out: OutOption = Path("reports"),
    proxy: ProxyOption = None,
    ca_bundle: CaBundleOption = None,
) -> None:
    """Check this machine before the first grade: Python, the grader, a browser, AWS credentials and services."""
    from grader.doctor import Finding, diagnose, first_to_fix, quoted

    use_network(proxy, ca_bundle)
    options: dict[str, object] = {
        "profile": profile,
        "credentials_file": credentials_file,
        "region": region,
        "endpoint_url": endpoint_url,
        "browser_path": browser_path,
    }
    with console.status("Checking…"):
        findings = diagnose(target_from_options(options), spec)
    problem = out_problem(out)
    findings.append(Finding("fail", "reports", problem) if problem else Finding("ok", "reports", f"go in {out}"))
    try:
        "✓✗".encode(console.encoding)
        marks = {"ok": ("✓", "green"), "warn": ("!", "dark_orange"), "fail": ("✗", "red")}
    except (UnicodeEncodeError, LookupError):  # a terminal without them (a Windows code page)
        marks = {"ok": ("OK", "green"), "warn": ("!", "dark_orange"), "fail": ("X", "red")}
    for finding in findings:
        mark, style = marks[finding.status]
        console.print(f"[{style}]{mark}[/] [bold]{safe(finding.topic)}:[/] {safe(finding.text)}")
    blocking = first_to_fix(findings)
    if blocking is not None:
        console.print(f"[bold red]Not ready to grade.[/] Fix first ({safe(blocking.topic)}): {safe(blocking.text)}")
        raise typer.Exit(2)
    defaults = {"region": "us-east-1", "spec": DEFAULT_SPEC, "out": Path("reports")}
    given = {**options, "spec": spec, "out": out, "proxy": proxy, "ca_bundle": ca_bundle}
    flags = [
        f"--{name.replace('_', '-')} {quoted(str(value))}"
        for name, value in given.items()
        if value is not None and value != defaults.get(name)
    ]
    console.print(f"[bold green]Ready to grade:[/] {safe(' '.join(['grader check', *flags]))}")


def _show_version(value: bool) -> None:
    # Eager: runs while the options are parsed, before Click asks for a command.
    if value:
        console.print(f"grader {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", metavar="", help="Show the version and exit.", is_eager=True, callback=_show_version),
    ] = False,
) -> None:
    pass


def main() -> None:
    app()

"""Every console example in README.md runs as written and ends as the README says.

The README's ```console blocks are read in order, as one session on a fresh
embedded sandbox (the bundled demo account, state in a temporary directory):

- `$ command  # comment` is a command; the lines after it, up to the next `$`,
  are what it prints. `…` in a printed line stands for anything.
- `<status> · thread <thread>` promises that status; the exit code follows
  from the README's own "Exit codes:" sentence. `exit N` in the comment
  promises that code. Otherwise the command must exit 0.
- `<thread>` is the thread id the last command printed.
- `export NAME=value` sets a variable for the commands after it;
  `NAME=value command` for that command only.
- A comment saying `Ctrl-C` marks a command that runs until stopped: it is
  started, given time to print what the README shows, then interrupted.
- `--port N` is moved to a free port (in the printed lines too).

Commands run in a directory holding the checkout's files (linked), so paths
in the examples resolve as they do for a user in the clone, and whatever the
examples write stays in the temporary directory.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

BOX = re.compile(r"[\u2500-\u257f]")  # rich's panel and table borders
# Which words of the README's exit-code sentence each status falls under.
STATUS_WORDS = {"done": "done", "not_incident": "done", "awaiting_approval": "paused",
                "needs_input": "paused", "rejected": "rejected", "error": "failed"}
# A status is printed as its name or in words (`awaiting approval`): the same status.
_STATUS = "|".join(s.replace("_", "[ _]") for s in STATUS_WORDS)
STATUS_LINE = re.compile(rf"^(?P<status>{_STATUS}) · thread (?P<thread>\S+)$")
PRINTED_THREAD = re.compile(rf"\b({_STATUS}) · thread ([0-9a-f]{{8,}})\b")
TIMEOUT_S = 180
DAEMON_WAIT_S = 30


@dataclass
class Example:
    line: int  # 1-based line in README.md
    command: str
    comment: str
    printed: list[str] = field(default_factory=list)


def console_examples(text: str) -> list[Example]:
    examples: list[Example] = []
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("```"):
            inside = line.strip() == "```console" if not inside else False
            continue
        if not inside:
            continue
        if line.startswith("$ "):
            command, comment = split_comment(line[2:])
            examples.append(Example(number, command, comment))
        elif examples and line.strip():
            examples[-1].printed.append(line.strip())
    return examples


def split_comment(line: str) -> tuple[str, str]:
    """`cmd "a # b"  # note` -> (`cmd "a # b"`, `note`): a `#` after a space, outside quotes."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].strip(), line[i + 1:].strip()
    return line.strip(), ""


def exit_codes(text: str) -> dict[str, int]:
    """Status -> exit code, from the README's sentence `Exit codes: 0 done or ..., 1 ...`."""
    found = re.search(r"Exit codes:\s*(.*?)\.(\s|$)", " ".join(text.split()))
    assert found, "README.md no longer says 'Exit codes: ...'"
    meaning = {int(code): words for code, words in
               re.findall(r"(\d) ([^,]*)", found.group(1))}
    out = {}
    for status, word in STATUS_WORDS.items():
        codes = [code for code, words in meaning.items() if word in words]
        assert len(codes) == 1, f"README's exit codes do not say which code means {word!r}"
        out[status] = codes[0]
    return out


def normal(text: str) -> str:
    return " ".join(BOX.sub(" ", text).split())


def shows(output: str, printed: str) -> bool:
    """Every piece of `printed` between `…` marks appears in `output`, in order."""
    at = 0
    for piece in (normal(p) for p in printed.split("…")):
        found = output.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workdir(tmp: Path) -> Path:
    """A directory that looks like the checkout (its files linked) but keeps what is written."""
    cwd = tmp / "clone"
    cwd.mkdir()
    for entry in REPO.iterdir():
        if not entry.name.startswith(".") and entry.name not in ("node_modules",):
            (cwd / entry.name).symlink_to(entry)
    return cwd


def fresh_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PAGERDUTY_", "OPENAI_", "SLACK_", "INCIDENT_AGENT_", "LANGSMITH_"))
           and k not in ("SANDBOX_ACCOUNT", "DEFAULT_TIME_ZONE")}
    env.update(
        INCIDENT_AGENT_CHECKPOINT=str(tmp / "state" / "incident-agent.sqlite"),
        HOME=str(tmp / "home"),
        XDG_STATE_HOME=str(tmp / "home" / ".local" / "state"),
        PYTHONPATH=str(REPO),
        COLUMNS="200",
    )
    return env


def argv(words: list[str]) -> list[str]:
    if words[0] == "incident-agent":
        return [sys.executable, "-m", "agent", *words[1:]]
    return words


def run_daemon(cmd: list[str], env: dict[str, str], cwd: Path, printed: list[str]) -> tuple[int, str]:
    """Start, wait for what the README shows (or a while), interrupt with Ctrl-C."""
    out_path = cwd.parent / f"daemon-{time.monotonic_ns()}.log"
    with out_path.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + DAEMON_WAIT_S
        while time.monotonic() < deadline and proc.poll() is None:
            if printed and all(shows(normal(out_path.read_text()), p) for p in printed):
                break
            time.sleep(0.2)
        alive = proc.poll() is None
        if alive:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"{cmd} did not stop on Ctrl-C") from None
    output = out_path.read_text()
    assert alive, f"{cmd} was to run until stopped, but it ended (exit {proc.returncode}):\n{output}"
    return proc.returncode, output


def test_reading_examples_their_promises_and_output():
    text = """Exit codes: 0 done or left paused on purpose, 1 a PagerDuty call or the write
failed, 2 bad input or a refused answer, 3 rejected, 4 unknown or already answered thread.

```console
$ incident-agent run "disk # full" --no-wait   # a note
awaiting approval · thread <thread>
Open … paging Mei Lin: disk …
$ incident-agent reject <thread>   # exit 3
```
    $ not a console block
"""
    first, second = console_examples(text)
    assert (first.line, first.command, first.comment) == (5, 'incident-agent run "disk # full" --no-wait', "a note")
    assert first.printed == ["awaiting approval · thread <thread>", "Open … paging Mei Lin: disk …"]
    assert second.printed == [] and second.comment == "exit 3"
    assert exit_codes(text) == {"done": 0, "not_incident": 0, "awaiting_approval": 0,
                                "needs_input": 0, "rejected": 3, "error": 1}
    assert STATUS_LINE.match(first.printed[0])
    output = normal("╭─ awaiting approval · thread 3f2c9a1b7d0e ─╮\n│ Open an incident, paging\n│ Mei Lin: disk full │")
    assert shows(output, first.printed[1])
    assert not shows(output, "Open … paging Elena: disk …")  # another name
    assert not shows(output, "disk … Open")  # pieces out of order
    assert PRINTED_THREAD.findall(output) == [("awaiting approval", "3f2c9a1b7d0e")]


@pytest.mark.slow
def test_every_console_example_in_the_readme_runs_as_written(tmp_path):
    text = README.read_text(encoding="utf-8")
    examples = console_examples(text)
    assert len(examples) >= 20, "the README's console examples were not found"
    codes = exit_codes(text)
    cwd, env = workdir(tmp_path), fresh_env(tmp_path)
    thread: str | None = None
    for ex in examples:
        where = f"README.md:{ex.line}: $ {ex.command}"
        words = shlex.split(ex.command)
        if words[0] == "export":
            for assignment in words[1:]:
                name, _, value = assignment.partition("=")
                env[name] = value
            continue
        own_env = dict(env)
        while "=" in words[0] and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
            name, _, value = words.pop(0).partition("=")
            own_env[name] = value
        printed = list(ex.printed)
        if "<thread>" in ex.command:
            assert thread, f"{where}: <thread> before any command printed a thread id"
            words = [w.replace("<thread>", thread) for w in words]
        if "--port" in words:
            port, new = words[words.index("--port") + 1], str(free_port())
            words = [new if w == port else w for w in words]
            printed = [p.replace(port, new) for p in printed]

        expected_status = None
        for p in printed:
            if m := STATUS_LINE.match(p):
                expected_status = m.group("status").replace(" ", "_")
        explicit = re.search(r"\bexit (\d+)\b", ex.comment)
        expected_code = (int(explicit.group(1)) if explicit
                         else codes[expected_status] if expected_status else 0)

        if "Ctrl-C" in ex.comment:
            code, output = run_daemon(argv(words), own_env, cwd, printed)
        else:
            done = subprocess.run(argv(words), env=own_env, cwd=cwd, capture_output=True, text=True,
                                  timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
            code, output = done.returncode, done.stdout + done.stderr
        seen = normal(output)
        report = f"{where}\n--- printed (exit {code}) ---\n{output}"
        assert "Traceback" not in output, report
        assert code == expected_code, f"expected exit {expected_code}\n{report}"

        threads = [(s.replace(" ", "_"), t) for s, t in PRINTED_THREAD.findall(seen)]
        if expected_status:
            assert any(status == expected_status for status, _ in threads), \
                f"expected status {expected_status}\n{report}"
            thread = next(t for status, t in reversed(threads) if status == expected_status)
        elif threads:
            thread = threads[-1][1]
        for p in printed:
            if STATUS_LINE.match(p):
                continue
            line = p.replace("<thread>", thread or "<thread>")
            assert shows(seen, line), f"expected to see: {line}\n{report}"

#!/usr/bin/env python3
"""How the platform modules are written, measured from the source of one revision.

    python3 .ci/grammar_stats.py [REV]        # REV defaults to the working tree
    python3 .ci/grammar_stats.py --docs DIR   # after `cargo doc --no-deps --all-features`

Prints, per platform, the lines of the shortest and the median operation, and counts of the places
that build a listing, carry a refused argument, or decide retries. An operation is one public
method of a handle (the types a client's accessors return) plus what it takes to send it: the
lines of the `send` (or `paginator`) of the builder it returns, or of the `operation!` invocation
that generates the builder. Blank lines and comments are not counted.
"""

import re
import statistics
import subprocess
import sys
from pathlib import Path

PLATFORMS = ("atlos", "aleph", "atlas")


def files(rev):
    """{path: text} of the Rust sources under src/ at `rev` (None: the working tree)."""
    if rev is None:
        root = Path(__file__).resolve().parent.parent
        return {
            str(p.relative_to(root)): p.read_text()
            for p in (root / "src").rglob("*.rs")
        }
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", rev, "src"],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    return {
        n: subprocess.run(
            ["git", "show", f"{rev}:{n}"], check=True, capture_output=True, text=True
        ).stdout
        for n in names
        if n.endswith(".rs")
    }


def block_end(text, open_at):
    """The index after the brace matching the one at `open_at` (strings and comments skipped)."""
    depth, i, n = 0, open_at, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            if i < 0:
                return n
            continue
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def code_lines(snippet):
    """Lines that are neither blank nor comments."""
    return sum(
        1
        for line in snippet.splitlines()
        if line.strip() and not line.strip().startswith("//")
    )


def fn_body(text, start):
    """The text of the fn whose signature starts at `start`, to its closing brace."""
    brace = text.find("{", start)
    return text[start:block_end(text, brace)]


def handles(sources, platform):
    """The handle types a platform's client hands out."""
    mod = sources.get(f"src/{platform}/mod.rs", "")
    found = re.findall(r"pub fn \w+\(&self\) -> (\w+) \{\s*\1::new\(", mod)
    block = re.search(r"handles!\s*\{(.*?)\n    \}", mod, re.S)
    if block:
        found += re.findall(r"\w+ => (\w+),", block.group(1))
    return [h for h in found if h not in ("Client", "Transport")]


def operations(sources, platform):
    """(name, lines) of every operation of a platform."""
    text = "\n".join(
        t for p, t in sorted(sources.items()) if p.startswith(f"src/{platform}/")
    )
    ops = []
    for handle in handles(sources, platform):
        for impl in re.finditer(rf"\nimpl {handle} \{{", text):
            body = text[impl.end() - 1:block_end(text, impl.end() - 1)]
            for m in re.finditer(
                r"\n    pub (?:async )?fn (\w+)(?:<[^>]*>)?\(\s*&self[^)]*\)\s*->\s*([\w:]+)",
                body,
            ):
                name, returns = m.group(1), m.group(2).split("::")[-1]
                lines = code_lines(fn_body(body, m.start() + 1))
                generated = re.search(
                    rf"operation!\s*\{{[^}}]*?\b{returns} =>[^}}]*\}}", text
                )
                if generated:
                    lines += code_lines(generated.group(0))
                else:
                    for own in re.finditer(rf"\nimpl {returns} \{{", text):
                        own_body = text[own.end() - 1:block_end(text, own.end() - 1)]
                        for f in re.finditer(
                            r"\n    (?:pub )?(?:async )?fn (send|paginator)\b", own_body
                        ):
                            lines += code_lines(fn_body(own_body, f.start() + 1))
                ops.append((f"{handle}::{name}", lines))
    return ops


def src_text(sources):
    """All sources outside the sandbox, comments left out."""
    return "\n".join(
        line
        for path, text in sources.items()
        if "/testkit/" not in path
        for line in text.splitlines()
        if not line.strip().startswith("//")
    )


def count(sources, pattern, platform_only=False):
    total = 0
    for path, text in sources.items():
        if "/testkit/" in path or (platform_only and not path.startswith(
            tuple(f"src/{p}/" for p in PLATFORMS)
        )):
            continue
        code = "\n".join(
            line for line in text.splitlines() if not line.strip().startswith("//")
        )
        total += len(re.findall(pattern, code))
    return total


def public_surface(docs):
    """{module: (public items, inherent methods)} from rustdoc's HTML under `docs`/casefile."""
    out = {}
    for module in PLATFORMS + ("transport", "paginate"):
        items = methods = 0
        for page in sorted((Path(docs) / "casefile" / module).glob("*.*.html")):
            kind = page.name.split(".")[0]
            if kind not in ("struct", "enum", "trait", "fn", "type", "constant", "macro"):
                continue
            items += 1
            html = page.read_text()
            start = html.find('id="implementations"')
            end = html.find('id="trait-implementations"')
            if kind == "trait":
                methods += len(re.findall(r'id="(?:ty)?method\.', html))
            elif start >= 0:
                own = html[start:end if end > start else len(html)]
                methods += len(re.findall(r'id="method\.', own))
        out[module] = (items, methods)
    return out


def main():
    if sys.argv[1:2] == ["--docs"]:
        for module, (items, methods) in public_surface(sys.argv[2]).items():
            print(f"{module}: {items} public items, {methods} inherent methods")
        return
    rev = sys.argv[1] if len(sys.argv) > 1 else None
    sources = files(rev)
    print(f"revision: {rev or 'working tree'}")
    for platform in PLATFORMS:
        ops = operations(sources, platform)
        if not ops:
            continue
        lines = sorted(n for _, n in ops)
        shortest = min(ops, key=lambda o: o[1])
        print(
            f"{platform}: {len(ops)} operations, shortest {shortest[1]} lines "
            f"({shortest[0]}), median {statistics.median(lines):g} lines"
        )
    print(
        "ways to build a listing (Paginator constructors used; PageSource impls):",
        sorted(set(re.findall(r"Paginator::(new|from_source)\(", src_text(sources)))),
        count(sources, r"impl(?:<[^>]*>)? PageSource for"),
    )
    carriers = {
        "Refusal value": r"Option<Refusal>",
        "RequestBuilder::checked": r"\.checked\((?!\))",
        "Result<String> field": r"\n\s+\w+: Result<String>,",
        "Result<RequestBuilder> field": r"\w+: (?:crate::)?Result<(?:crate::transport::)?RequestBuilder>",
        "Result<_, Refusal> field": r"\w+: std::result::Result<\w+, Refusal>",
        "Mutex<Option<Error>>": r"Mutex<Option<Error>>",
        "Option<(&str, String)>": r"Option<\(&str, String\)>",
    }
    used = [name for name, pattern in carriers.items() if count(sources, pattern)]
    print("ways to carry a refused argument:", len(used), used)
    print(
        "places that decide a retry (retry decision functions):",
        count(sources, r"fn next_wait\b|fn is_transient|fn should_retry"),
    )

if __name__ == "__main__":
    main()

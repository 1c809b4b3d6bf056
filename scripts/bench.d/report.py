"""Output of scripts/bench: the Markdown table, the growth table, the machine description, the notes
and BENCHMARKS.md. Measuring lives in scripts/bench; this file only formats what it measured.
"""
import datetime
import os
import platform
import re
import subprocess


def version_of(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def trim(s, width=150):
    s = re.sub(r"\s+", " ", s.strip())
    s = s.replace("???:", "")
    return s if len(s) <= width else s[:width - 1] + "…"


def fmt_s(s):
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def fmt_kib(k):
    return f"{k / 1024:.1f} MiB"


def table(b):
    out = ["| row | appkit (median) | Helm (median) | appkit/Helm wall | peak RSS appkit / Helm | "
           "requests, uploads, per-app cost | target | met |",
           "|---|---|---|---|---|---|---|---|"]
    for r in b.rows:
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.3f}×"
        if r.get("speedup"):
            ratio += f" ({r['speedup']:.0f}× faster)"
        met = "—" if r["met"] is None else ("✓" if r["met"] else "✗")
        out.append(f"| {r['name']} | {r['a']} | {r['h']} | {ratio} | {r['rss']} | {r['http']} | "
                   f"{r['target']} | {met} |")
    return "\n".join(out)


def growth(b):
    out = ["| command | " + " | ".join(f"N = {n:,}" for n in b.args.sizes) + " | linear? |",
           "|---|" + "---|" * (len(b.args.sizes) + 1)]
    for what, g in sorted(b.growth.items()):
        c = b.cpu.get(what, {})
        lin = getattr(b, "linear", {}).get(what)
        verdict = "—" if not lin else (
            f"{'yes' if lin[3] else 'no'}: per-app CPU × {lin[2]:.2f} from {lin[0]:,} to {lin[1]:,}")
        unit = " per app·env" if what == "render" else " per app"
        div = 2 if what == "render" else 1
        out.append(f"| {what} | " + " | ".join(
            f"{fmt_s(g[n])} wall, {fmt_s(c.get(n, 0))} CPU; {g[n] / n / div * 1e6:.0f} µs wall, "
            f"{c.get(n, 0) / n / div * 1e6:.0f} µs CPU{unit}" for n in b.args.sizes) + f" | {verdict} |")
    return "\n".join(out)


def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


LOAD_START = loadavg()


def machine(appkit):
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with open("/proc/meminfo") as f:
        for ln in f:
            if ln.startswith("MemTotal"):
                mem = f"{int(ln.split()[1]) / 1024 / 1024:.1f} GiB"
    load = loadavg()
    return [f"- CPU: {os.cpu_count()} × {model} (`nproc`: {version_of(['nproc'])})",
            f"- memory: {mem}; kernel: {platform.release()}; load average (1, 5, 15 min) at the start: "
            f"{LOAD_START}, at the end: {load} (the machine is shared; a load above the core count means "
            f"other work competed for the CPUs)",
            f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- appkit: `{version_of([appkit, '--version'])}` (release build, `cargo build --release --locked`), "
            f"`{version_of(['rustc', '--version'])}`",
            f"- Helm: `{version_of([os.environ['APPKIT_HELM3'], 'version', '--short'])}` and "
            f"`{version_of([os.environ['APPKIT_HELM4'], 'version', '--short'])}`",
            f"- registry: `{version_of(['docker-registry', '--version'])}` on 127.0.0.1 (plain HTTP)"]


METHOD = """\
## Method

- Every timed command runs as `/usr/bin/time -f %M CMD`; `%M` is the peak RSS, and the wall time is
  measured around it minus the median cost of launching `/usr/bin/time -f %M true` (the measurement
  overhead, {overhead}). Medians over the runs; appkit and Helm runs alternate (the order flips every
  run). Package and push rows are cheap and use twice the runs. Helm runs with empty
  `HELM_{{CACHE,CONFIG,DATA}}_HOME` directories.
- **package**: `helm-appkit package chart -d DIR` vs `helm package chart -d DIR`, a fresh DIR each run.
- **push**: one `.tgz` per run with a new version (`helm-appkit package --version 1.0.i`, untimed);
  each tool pushes the same file to its own repository of one loopback `docker-registry`
  (`oci://127.0.0.1:PORT/{{appkit,helm3,helm4}}`), then pushes it again unchanged. Requests are
  counted from the registry's access log (every `/v2/` request, and `POST …/blobs/uploads/`).
- **validate**: `scripts/bench.d/gen-apps` writes N apps (one in eight deliberately invalid, a prod
  overlay for every third app). appkit runs one `helm-appkit validate` (every app in both
  environments, dev and prod, so it checks more than Helm does). Helm has no multi-file validator,
  so the Helm side is `helm lint --strict chart -f apps/X/values.yaml` per file: a sample of files
  spread evenly over the apps is linted, and the mean time per file × N is the estimated loop time
  (sampled and scaled, not run N times). Its peak RSS is the largest single lint.
- **render**: `scripts/bench.d/gen-render-fixture` writes N valid apps and an `appkit.lock`;
  `helm-appkit render` writes an OCIRepository + HelmRelease per app for dev and prod (2·N files
  plus two kustomizations) into empty output directories (the previous output is moved aside, not
  deleted, see the notes). No Helm equivalent: absolute time and cost per app·environment.
- Rows with N ≥ 10,000 use a third of the runs (at least 3).
"""


# Where the sections written by hand from other scripts' tables begin in BENCHMARKS.md;
# `scripts/bench --write` keeps everything from it on.
KEEP_MARKER = "<!-- Sections below: scripts/bench.d/flux-scale, plan-bench, report-scale; scripts/bench --write keeps them. -->"


def markdown(b, elapsed):
    parts = ["# Benchmarks: appkit side by side with Helm", "",
             "Generated by `scripts/bench --write` (re-run it to refresh this file; `scripts/bench --quick` "
             "for a fast check). Numbers are from one machine and one run of the script.", "",
             "## Machine", ""] + machine(b.appkit) + [
        f"- runs per row: {b.args.runs} (package and push: {2 * b.args.runs}; N ≥ 10,000: "
        f"{b.runs_for(10000)}); Helm lint sample: "
        f"{b.args.sample} files per N and Helm version; the measurements took {elapsed:.0f} s (removing "
        f"the temporary files afterwards takes another 1–3 minutes on this disk)", "",
        "## Results", "", table(b), "", "## Growth with N", "", growth(b), ""]
    if b.notes:
        parts += ["## Notes", ""] + [f"- {n}" for n in b.notes] + [""]
    if b.profile:
        parts += ["## Where the time goes (validate)", ""]
        for title, lines in b.profile:
            parts += [title + ":", "", "```"] + lines + ["```", ""]
    parts += [METHOD.format(overhead=fmt_s(b.r.overhead))]
    return "\n".join(parts)


def explain(b):
    """Notes for rows that missed their target, and for what the numbers say."""
    for r in b.rows:
        if r["met"] is False:
            b.notes.append(f"**missed: {r['name']}** ({r['target']}) — see below.")
    lin = getattr(b, "linear", {})
    for what, (lo, hi, grow, ok) in sorted(lin.items()):
        b.notes.append(f"{what}: the per-app CPU time (user + system) grows × {grow:.2f} from {lo:,} to {hi:,} apps "
                       f"({'linear within noise' if ok else 'worse than linear'}).")
    b.notes.extend(EXTRA_NOTES)


# Findings from profiling (perf, strace, callgrind on this machine), kept next to the code that
# measures them; they are printed with every run and written to BENCHMARKS.md.
EXTRA_NOTES = [
    "**push a new version** is bound by the registry, not by the client: appkit sends 8 requests in 5 "
    "sequential round trips (HEAD tag; HEAD both blobs in parallel; POST both uploads; PUT both blobs; "
    "PUT manifest), and the loopback registry alone spends 10–25 ms answering the manifest PUT and "
    "~5 ms per blob PUT (strace timestamps). Profiling found ~5 ms of appkit's own time in building the "
    "HTTP client: reqwest's rustls platform verifier read all ~440 files of /etc/ssl/certs even for "
    "`--plain-http`; `Transport::new` (`src/oci/transport.rs`) now loads no TLS roots for plain HTTP "
    "(re-push 13.7 → 9.0 ms, new push 51.9 → 49.0 ms over 25 alternating runs), which took the "
    "new-push ratio vs Helm 3.17 from a borderline 0.43–0.55× to 0.39–0.42×. It still moves from run to "
    "run on this shared 2-core machine; the table shows the median of this run.",
    "**re-push** costs appkit one request (HEAD of the tag; same digest → done, nothing uploaded). "
    "Helm 3.17 sends 3 HEADs (both blobs, then the tag); Helm 4.1 HEADs and GETs the manifest by digest "
    "and PUTs the tag again. Neither uploads a blob.",
    "**validate**: 94% of the instructions run in the worker threads (`Validator::validate_app`); "
    "about 60% is `Validator::coalesce`, mostly YAML parsing (saphyr scanner + appkit's position-keeping "
    "loader) and malloc/free, ~22% the platform rules (`rules::check`), the JSON-schema check is small. "
    "Each app's values.yaml is read and parsed once per app, and the tree is cloned for each "
    "environment (a per-thread `values::LoadCache`): that change cut the CPU time for 1,000 apps × 2 "
    "environments from 166 to 138 ms (median of 15 alternating runs, identical output). At 10,000 apps the kernel share grows (file reads and `stat` "
    "of 10,000 directories: ~28% of the samples instead of ~20%), but the per-app CPU cost stays "
    "within noise of the 1,000-app run. Wall time on 2 cores also depends on the other load of this "
    "shared machine (one run measured 2.0 s, another 1.3 s for the same 10,000 apps), so linearity is "
    "judged on CPU time (user + system from `/usr/bin/time`).",
    "**render**: no Helm equivalent. Runs write into empty output directories; deleting the previous "
    "2·N files right before (`rm -rf clusters`) makes ext4's inode allocator (`recently_deleted`, "
    "`find_get_block_common` in `perf record`) take most of a 10,000-app run (7–9 s instead of ~4–5 s), "
    "so the script moves the previous output aside instead. That kernel cost is the same for any tool "
    "that recreates many files.",
]

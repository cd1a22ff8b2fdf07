"""What the separation report shows beyond the metrics table: every method per source, spectrograms, audio.

- one table per evaluation set: the model and the reference methods of the same run (oracles
  IRM1 / IRM2 / IBM, NMF, the mixture), SDR per source and the mean SDR / SIR / SAR / ISR / SI-SDR;
- for a few held-out excerpts, the spectrograms of mixture / truth / estimate per source;
- the same excerpts as WAV files and a page (``listen.html``) that plays mixture, truth and
  estimate of each source side by side.

Book page: ``book/separation.md``.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from mir101.tasks.reports import markdown_table
from mir101.tasks.result import EvalResult

__all__ = ["separation_sections", "method_rows"]


def method_rows(result: EvalResult, set_name: str) -> list[list[object]]:
    """Rows ``[method, sdr per source..., sdr, sir, sar, isr, si_sdr]`` of one set: the model first."""
    sources = result.extras.get("sources") or []
    methods = {"model": result.sets[set_name], **((result.extras.get("baselines") or {}).get(set_name) or {})}
    order = ["model", "irm2", "irm1", "ibm", "nmf", "mixture"]
    rows = []
    for m in sorted(methods, key=lambda m: order.index(m) if m in order else len(order)):
        s = methods[m]
        rows.append([m, *(round(s.get(f"sdr_{src}", float("nan")), 2) for src in sources),
                     *(round(s.get(k, float("nan")), 2) for k in ("sdr", "sir", "sar", "isr", "si_sdr"))])  # fmt: skip
    return rows


def separation_sections(result: EvalResult, run_dir: Path, sr: int) -> list[str]:
    """The markdown sections (and the files they link) of a separation run's report."""
    import soundfile as sf

    from mir101.viz.separation import plot_separation

    run_dir = Path(run_dir)
    sources = list(result.extras.get("sources") or [])
    sections = []
    header = ["method", *(f"SDR {s}" for s in sources), "SDR", "SIR", "SAR", "ISR", "SI-SDR"]
    for name in result.sets:
        sections.append(
            f"## Per source: {name}\n\nBSS-eval v4 (museval), dB: median over 1 s frames, then over "
            f"{int(result.sets[name]['items'])} excerpts of {result.extras.get('eval_seconds')} s; the mean "
            "columns average the sources. Oracles (IRM, IBM) know the true sources: the ceiling of masking.\n\n"
            + markdown_table(header, method_rows(result, name))
        )
    items = result.examples.get("items") or []
    if items:
        (run_dir / "figures").mkdir(parents=True, exist_ok=True)
        (run_dir / "audio").mkdir(parents=True, exist_ok=True)
        lines, page = (
            ["## Listen and look\n"],
            ["<html><head><meta charset='utf-8'><title>Separation</title></head><body>"],
        )
        for n, item in enumerate(items):
            refs, est = np.asarray(item["refs"]), np.asarray(item["est"])
            mix = refs.sum(axis=0)
            tag = f"{n}_{item['set']}"
            png = f"figures/separation_{tag}.png"
            plot_separation(
                mix, refs, est, sources, sr, run_dir / png, title=f"({item['set']}: {item['key']})"
            )
            lines.append(f"![spectrograms of {item['key']}]({png})\n")
            peak = max(1.0, float(np.abs(mix).max()), float(np.abs(est).max()))
            files = {"mixture": f"audio/{tag}_mixture.wav"}
            sf.write(run_dir / files["mixture"], (mix / peak).astype(np.float32), sr)
            page.append(f"<h2>{html.escape(item['set'])}: {html.escape(item['key'])}</h2>"
                        f"<p>mixture <audio controls src='{files['mixture']}'></audio></p><table>"
                        "<tr><th>source</th><th>truth</th><th>estimate</th></tr>")  # fmt: skip
            for k, src in enumerate(sources):
                for what, x in (("truth", refs[k]), ("estimate", est[k])):
                    rel = f"audio/{tag}_{src}_{what}.wav"
                    sf.write(run_dir / rel, (x / peak).astype(np.float32), sr)
                    files[f"{src} {what}"] = rel
                page.append(f"<tr><td>{html.escape(src)}</td><td><audio controls src='{files[src + ' truth']}'></audio></td>"
                            f"<td><audio controls src='{files[src + ' estimate']}'></audio></td></tr>")  # fmt: skip
            page.append("</table>")
            lines += [f"- {k}: [{Path(v).name}]({v})" for k, v in files.items()]
        page.append("</body></html>")
        (run_dir / "listen.html").write_text("\n".join(page))
        lines.append("\nAll of them side by side: [listen.html](listen.html)")
        sections.append("\n".join(lines))
    return sections

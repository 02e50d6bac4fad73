/**
 * The stylesheet shared by the live page (/ui, served as /ui/assets/sidelight.css) and the HTML
 * report (inlined), so a saved report looks like the live page. Light and dark follow the
 * system (prefers-color-scheme); one column below 1000 px.
 */
export const PAGE_CSS = `
:root{color-scheme:light dark;--bg:#ffffff;--fg:#1f2328;--muted:#59636e;--border:#d1d9e0;--subtle:#f6f8fa;--card:#ffffff;--accent:#0969da;
--high:#cf222e;--medium:#9a6700;--low:#59636e;--badge-fg:#ffffff;--ok:#1a7f37;--line1:#cf222e;--line2:#0969da;--line3:#8250df;--focus:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--border:#3d444d;--subtle:#151b23;--card:#0d1117;--accent:#4493f8;
--high:#f85149;--medium:#d29922;--low:#9198a1;--badge-fg:#0d1117;--ok:#3fb950;--line1:#ff7b72;--line2:#4493f8;--line3:#ab7df8;--focus:#4493f8}}
*{box-sizing:border-box}
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);margin:0}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,summary:focus-visible,[tabindex]:focus-visible{outline:2px solid var(--focus);outline-offset:2px}
h1,h2,h3,h4{line-height:1.25;margin:0}
h2{font-size:16px;padding-bottom:.3rem;border-bottom:1px solid var(--border);margin:1.25rem 0 .5rem}
h3{font-size:15px}h4{font-size:13px;margin-top:.5rem}
code,pre{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
code{background:var(--subtle);padding:.05rem .3rem;border-radius:4px;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--subtle);padding:.5rem;border-radius:6px;max-height:24rem;overflow:auto}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid var(--border);padding:.2rem .5rem;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.skip{position:absolute;left:-999px}.skip:focus{left:.5rem;top:.5rem;background:var(--bg);padding:.25rem .5rem;z-index:2}
.page-head{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:baseline;padding:.75rem 1rem;border-bottom:1px solid var(--border);background:var(--subtle)}
.page-head h1{font-size:18px}
.meta,.muted{color:var(--muted)}
.counts{display:flex;gap:.4rem;flex-wrap:wrap}
.status{margin-left:auto;font-size:12px;color:var(--muted)}
.status[data-state=live]::before{content:"● ";color:var(--ok)}
.status[data-state=reconnecting]::before{content:"● ";color:var(--medium)}
main{padding:0 1rem 2rem;max-width:1600px;margin:0 auto}
.columns{display:grid;grid-template-columns:minmax(0,1fr);gap:0 1.5rem}
@media (min-width:1000px){.columns{grid-template-columns:minmax(0,7fr) minmax(0,5fr)}}
.badge{display:inline-block;border-radius:1rem;padding:0 .55rem;font-size:12px;font-weight:600;color:var(--badge-fg);white-space:nowrap}
.sev-high{background:var(--high)}.sev-medium{background:var(--medium)}.sev-low{background:var(--low)}
.alert{border:1px solid var(--border);border-left:4px solid var(--low);border-radius:6px;padding:.6rem .85rem;margin:.6rem 0;background:var(--card)}
.alert[data-severity=high]{border-left-color:var(--high)}.alert[data-severity=medium]{border-left-color:var(--medium)}
.alert-head{display:flex;gap:.5rem;align-items:baseline}
.alert-title{font-size:15px;overflow-wrap:anywhere}
.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.1rem .75rem;margin:.5rem 0}
.facts dt{color:var(--muted)}.facts dd{margin:0;overflow-wrap:anywhere}
.fix{border-top:1px dashed var(--border);margin-top:.5rem;padding-top:.35rem}
.fix ol{margin:.25rem 0;padding-left:1.4rem}.fix .group{margin:.35rem 0 0;font-weight:600}
.task{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-start;margin-top:.35rem}.task details{flex:1 1 16rem;min-width:0}
button{font:inherit;font-size:13px;color:var(--fg);background:var(--subtle);border:1px solid var(--border);border-radius:6px;padding:.15rem .6rem;cursor:pointer}
button:hover{border-color:var(--accent)}
.copy-task{display:none}.js .copy-task{display:inline-block}
.copied{color:var(--ok);font-size:12px}
.traces a,.traces code{margin-right:.4rem}
details>summary{cursor:pointer;color:var(--muted)}
.empty{color:var(--muted);font-style:italic}
.resolved{list-style:none;padding:0;margin:0}.resolved li{padding:.3rem 0;border-bottom:1px solid var(--border)}
.ops{display:grid;gap:.6rem}
.op{border:1px solid var(--border);border-radius:6px;padding:.5rem .75rem;background:var(--card)}
.op[data-trouble=high]{border-left:4px solid var(--high)}.op[data-trouble=medium]{border-left:4px solid var(--medium)}
.op-title{font-size:13px;font-weight:600;overflow-wrap:anywhere}
.op-figures{margin:.15rem 0 .35rem;font-size:12px;color:var(--muted);font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.5rem}
.chart{margin:0;min-width:0}.chart figcaption{font-size:12px;color:var(--muted)}
.plot{min-height:64px}
.chart-text{font-size:11px;color:var(--muted);display:block;overflow-wrap:anywhere}
.spark{vertical-align:middle;max-width:100%;height:auto}.spark rect{fill:var(--subtle)}
.chart[data-metric=failure_rate] .spark polyline{stroke:var(--line1)}.chart[data-metric=failure_rate] .spark circle{fill:var(--line1)}
.chart[data-metric=p95] .spark polyline{stroke:var(--line2)}.chart[data-metric=p95] .spark circle{fill:var(--line2)}
.chart[data-metric=retries] .spark polyline{stroke:var(--line3)}.chart[data-metric=retries] .spark circle{fill:var(--line3)}
.legend{font-size:11px;color:var(--muted)}.legend .k1{color:var(--line1)}.legend .k2{color:var(--line2)}.legend .k3{color:var(--line3)}
.cp{width:100%}.cp td:first-child{overflow-wrap:anywhere}.cp meter{width:6rem}
.keys{font-size:12px;color:var(--muted);margin-top:1.5rem}
kbd{font:11px ui-monospace,monospace;border:1px solid var(--border);border-radius:3px;padding:0 .25rem}
.uplot{font-size:10px}.uplot .u-legend{display:none}
`.trim();

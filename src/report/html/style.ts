// The page's one stylesheet. Colours are CSS variables so the same markup and SVG serve light
// and dark (prefers-color-scheme) and print (light, no backgrounds to waste ink, figures kept
// whole on a page). Only system fonts: the page must render offline, with nothing to fetch.

export const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--panel:#f6f8fa;--border:#d1d9e0;--grid:#e4e8ec;--axis:#818b98;
--c1:#0969da;--c2:#d1570a;--c3:#8250df;--ref:#1f2328;--target:#1a7f37;--bad:#cf222e;--good:#1a7f37;
--bad-bg:#ffebe9;--good-bg:#dafbe1;--warn-bg:#fff8c5;--warn-border:#d4a72c;--err-shade:rgba(207,34,46,.12)}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--panel:#151b23;--border:#3d444d;--grid:#262c34;--axis:#656c76;
--c1:#4493f8;--c2:#f0883e;--c3:#ab7df8;--ref:#e6edf3;--target:#3fb950;--bad:#f85149;--good:#3fb950;
--bad-bg:rgba(248,81,73,.15);--good-bg:rgba(63,185,80,.15);--warn-bg:rgba(187,128,9,.15);--warn-border:#9e6a03;--err-shade:rgba(248,81,73,.16)}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1080px;padding:20px 24px 40px;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","DejaVu Sans",Arial,sans-serif}
h1{font-size:20px;margin:0 0 2px}h2{font-size:16px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--border)}
.sub{color:var(--muted);margin:0 0 14px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
.banner{border:1px solid var(--warn-border);background:var(--warn-bg);border-radius:6px;padding:8px 12px;margin:8px 0}
.banner.bad{border-color:var(--bad);background:var(--bad-bg)}.banner.good{border-color:var(--good);background:var(--good-bg)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:14px 0}
.card{background:var(--panel);border:1px solid var(--border);border-radius:6px;padding:8px 12px}
.card .k{color:var(--muted);font-size:12px}.card .v{font-size:20px;font-weight:600;white-space:nowrap}.card .d{color:var(--muted);font-size:12px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:0}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}
th,td{padding:3px 10px;border-bottom:1px solid var(--border);text-align:right;vertical-align:top}
th{color:var(--muted);font-weight:600}th:first-child,td:first-child{text-align:left}th.l,td.l{text-align:left;overflow-wrap:anywhere}
tr.regressed td{background:var(--bad-bg)}tr.regressed td.status{color:var(--bad);font-weight:700}
tr.improved td{background:var(--good-bg)}tr.improved td.status{color:var(--good);font-weight:600}
tr.inconclusive td{background:var(--warn-bg)}tr.inconclusive td.status{font-weight:600}
tr.info td{color:var(--muted)}tr.differs td{background:var(--warn-bg)}
h3{font-size:14px;margin:14px 0 4px}
.barcell{min-width:160px;width:40%}.hbar{display:block;height:10px;background:var(--bad);border-radius:2px;min-width:1px}
figure{margin:10px 0 22px;break-inside:avoid}
figcaption.title{font-weight:600;margin-bottom:2px}figcaption.note{color:var(--muted);font-size:12.5px;margin-top:2px}
svg.chart{display:block;width:100%;height:auto;overflow:visible}
svg text{fill:var(--fg);font-size:11px;font-family:inherit}svg text.tick{fill:var(--muted)}svg text.axis-title{fill:var(--muted);font-size:11.5px}
.grid{stroke:var(--grid);stroke-width:1}.axis{stroke:var(--axis);fill:none;stroke-width:1}
.line{fill:none;stroke-width:2;stroke-linejoin:round}.dashed{stroke-dasharray:6 4}.dotted{stroke-dasharray:2 3}
.line.c1{stroke:var(--c1)}.line.c2{stroke:var(--c2)}.line.c3{stroke:var(--c3)}.line.ref{stroke:var(--ref);stroke-width:1.2}.line.target{stroke:var(--target);stroke-width:2.5}
.line.range{stroke:var(--axis);stroke-width:3}
.bar,.area{fill-opacity:.85}.area.c1{fill:var(--c1)}.area.c2{fill:var(--c2)}.err-mark{fill:var(--bad)}.bar.c1{fill:var(--c1)}.bar.c2{fill:var(--c2)}.bar.c3{fill:var(--c3)}
.mark.c1{fill:var(--c1)}.mark.c2{fill:var(--c2)}.mark.c3{fill:var(--c3)}
.err-shade{fill:var(--err-shade)}svg text.err-label{fill:var(--bad);font-weight:700}
ul.legend{list-style:none;margin:0 0 4px;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px;color:var(--muted);font-size:12.5px}
.swatch{display:inline-block;width:18px;height:0;border-top:2px solid;vertical-align:middle;margin-right:6px}
.swatch.dash{border-top-style:dashed}.swatch.bar{height:10px;border:0;width:12px}.swatch.dot{width:8px;height:8px;border:0;border-radius:50%}
.swatch.c1{border-color:var(--c1);background:var(--c1)}.swatch.line.c1,.swatch.dash.c1{background:none}
.swatch.c2{border-color:var(--c2);background:var(--c2)}.swatch.line.c2,.swatch.dash.c2{background:none}
.swatch.c3{border-color:var(--c3);background:var(--c3)}.swatch.line.c3,.swatch.dash.c3{background:none}
.swatch.ref{border-color:var(--ref)}.swatch.target{border-color:var(--target)}.swatch.bad{background:var(--bad)}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:18px}.cols>*{min-width:0}
@media (max-width:760px){.cols{grid-template-columns:1fr}}
.muted{color:var(--muted)}.bad{color:var(--bad)}.good{color:var(--good)}.warn{color:var(--warn-border)}
footer{margin-top:30px;color:var(--muted);font-size:12px}
@media print{:root{--bg:#fff;--fg:#000;--muted:#444;--panel:#fff;--border:#bbb;--grid:#ddd;--axis:#666;--c1:#0550ae;--c2:#bc4c00;--c3:#6639ba;--ref:#000;
--target:#1a7f37;--bad:#cf222e;--good:#1a7f37;--warn-border:#9a6700;--bad-bg:#fff;--good-bg:#fff;--warn-bg:#fff;--err-shade:rgba(207,34,46,.15)}
body{max-width:none;padding:0;font-size:11pt}h2{break-after:avoid}.card,.banner{break-inside:avoid}
tr.regressed td{font-weight:700}a{color:inherit;text-decoration:none}}
`;

// The stylesheet of `looped explain --html`'s page (cli/explain/html.ts inlines it in a <style>
// element: the page is self-contained and loads nothing, so no @import and no url()).
export const CSS = `
:root { --fg: #1d2329; --dim: #68737d; --line: #d7dce1; --pos: 22, 135, 60; --neg: 200, 40, 40; --bg: #ffffff; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); margin: 0; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 16px 0 4px; }
.dim { color: var(--dim); }
.mono, #loop-status { overflow-wrap: anywhere; }
.mono, code, td.mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { border: 1px solid var(--line); padding: 2px 8px; text-align: left; vertical-align: top; }
th { background: #f3f5f7; font-weight: 600; }
.ok { color: rgb(var(--pos)); font-weight: 600; }
.bad { color: rgb(var(--neg)); font-weight: 600; }
.controls { position: sticky; top: 0; background: var(--bg); padding: 8px 0; z-index: 2; display: flex; gap: 12px; align-items: center; border-bottom: 1px solid var(--line); }
.controls button { font: inherit; padding: 2px 12px; }
.controls input[type=range] { width: 320px; }
#loop-label { font-weight: 600; min-width: 14em; }
.grid { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
figure { margin: 0; }
figcaption { font-size: 12px; margin-bottom: 2px; }
svg text { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; fill: var(--fg); }
svg .sep { stroke: #39424b; stroke-width: 1; }
svg .frame { fill: none; stroke: #9aa4ad; }
td.changed { background: #fff4c2; }
.note { font-size: 12px; color: #8a5a00; }
.legend span { display: inline-block; width: 12px; height: 12px; vertical-align: middle; margin: 0 4px 0 10px; border: 1px solid var(--line); }
`;

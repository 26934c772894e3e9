// The portal's stylesheet (served as /portal/assets/portal.css): system fonts, one accent
// colour, visible focus, tables that turn into cards on phone widths.
export const PORTAL_CSS = String.raw`
:root {
  --bg: #f5f6f8; --card: #fff; --text: #1c2430; --muted: #5b6675; --line: #dde1e7;
  --accent: #2456d6; --accent-text: #fff; --danger: #b42318; --ok: #067647; --warn: #b54708;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; line-height: 1.45; color: var(--text); background: var(--bg);
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; }
a { color: var(--accent); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
:focus-visible { outline: 3px solid #f5b301; outline-offset: 2px; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 6px 10px; z-index: 10; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 20px; padding: 12px 24px;
  background: #111a2e; color: #fff; }
.top .brand { font-weight: 700; font-size: 1.1em; }
.top .tenant { color: #b8c2d6; font-size: 0.9em; }
.top nav { display: flex; align-items: center; gap: 16px; margin-left: auto; }
.top nav a { color: #dbe4ff; text-decoration: none; padding: 4px 2px; }
.top nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid #fff; }
.top .link { background: none; border: 0; color: #dbe4ff; padding: 4px 2px; font: inherit; cursor: pointer; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 1.5em; margin: 8px 0 16px; }
h2 { font-size: 1.15em; margin: 0 0 12px; }
h3 { font-size: 1em; margin: 0 0 4px; }
h4 { font-size: 0.9em; margin: 10px 0 4px; color: var(--muted); }
.sub, .hint { color: var(--muted); font-size: 0.9em; margin: 4px 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px; margin-bottom: 16px; }
.narrow { max-width: 560px; margin: 40px auto; }
.title-row { display: flex; align-items: center; justify-content: space-between; gap: 12px; flex-wrap: wrap; }
.row { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin-top: 12px; }
.inline { display: inline; margin: 0; }
.columns { display: grid; grid-template-columns: 3fr 2fr; gap: 16px; align-items: start; }
button, .button { display: inline-block; font: inherit; padding: 8px 14px; border-radius: 6px; border: 1px solid var(--line);
  background: #fff; color: var(--text); cursor: pointer; text-decoration: none; line-height: 1.2; }
button:hover, .button:hover { border-color: #aab3c0; }
.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
.danger { color: var(--danger); border-color: #f1b8b3; }
button.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
.notice { background: #ecfdf3; border: 1px solid #abefc6; color: var(--ok); padding: 10px 14px; border-radius: 6px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 10px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 0.85em; color: var(--muted); font-weight: 600; background: #fafbfc; }
.table-card { padding: 0; overflow-x: auto; }
td.url, .url { word-break: break-all; }
td.actions { white-space: nowrap; }
td.actions a { margin-right: 10px; }
tr.empty td { text-align: center; color: var(--muted); padding: 28px; }
.status { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 0.85em; background: #eef1f5; }
.status-active, .status-succeeded { background: #dcfae6; color: var(--ok); }
.status-paused, .status-pending, .status-retrying { background: #fef0c7; color: var(--warn); }
.status-disabled, .status-failed { background: #fee4e2; color: var(--danger); }
.pager { display: flex; gap: 16px; margin: 12px 0; }
fieldset { border: 0; border-top: 1px solid var(--line); padding: 14px 0 6px; margin: 0; }
fieldset:first-of-type { border-top: 0; }
legend { font-weight: 700; padding: 0 0 6px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 4px 18px; }
.field { display: flex; flex-direction: column; margin-bottom: 10px; }
.field label { font-weight: 600; font-size: 0.9em; margin-bottom: 4px; }
input, select { font: inherit; padding: 8px 10px; border: 1px solid #c4cbd5; border-radius: 6px; background: #fff; width: 100%; }
input[type="checkbox"] { width: auto; }
input[aria-invalid="true"], select[aria-invalid="true"] { border-color: var(--danger); }
.field-error, .error-text { color: var(--danger); font-size: 0.9em; margin: 4px 0 0; }
.form-errors { border: 1px solid #f1b8b3; background: #fef3f2; color: var(--danger); border-radius: 6px; padding: 10px 14px; margin-bottom: 12px; }
.check { display: flex; align-items: center; gap: 8px; margin: 8px 0; }
.pairs { padding-left: 8px; margin-bottom: 8px; }
.pair { display: grid; grid-template-columns: 1fr 1fr auto; gap: 10px; align-items: end; }
.pair .remove-pair { margin-bottom: 10px; }
.buttons { border-top: 1px solid var(--line); padding-top: 14px; }
.test-response { margin-top: 16px; border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; background: #fafbfc; }
.test-response.ok { border-color: #abefc6; }
.test-response.bad { border-color: #f1b8b3; }
pre.body { background: #0f172a; color: #e2e8f0; padding: 10px 12px; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; max-height: 320px; }
ul.plain { list-style: none; padding: 0; margin: 0; }
ul.headers li { word-break: break-all; }
dl.config { display: grid; grid-template-columns: 180px 1fr; gap: 6px 14px; margin: 0; }
dl.config dt { color: var(--muted); font-size: 0.9em; }
dl.config dd { margin: 0; word-break: break-word; }
.attempt { border-top: 1px solid var(--line); padding-top: 12px; margin-top: 12px; }
.filter label { font-weight: 600; }
.filter select { width: auto; }
@media (max-width: 760px) {
  main { padding: 14px 12px 40px; }
  .top { padding: 10px 12px; }
  .top nav { margin-left: 0; width: 100%; }
  .columns { grid-template-columns: 1fr; }
  dl.config { grid-template-columns: 1fr; }
  dl.config dd { margin-bottom: 8px; }
  table.webhooks thead, table.deliveries thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.webhooks tr, table.deliveries tr { display: block; border-bottom: 1px solid var(--line); padding: 8px 4px; }
  table.webhooks td, table.deliveries td { display: grid; grid-template-columns: 130px 1fr; border: 0; padding: 4px 8px; }
  table.webhooks td::before, table.deliveries td::before { content: attr(data-label); color: var(--muted); font-size: 0.85em; }
  table.webhooks td > *, table.deliveries td > * { justify-self: start; }
  tr.empty td { display: block; }
  tr.empty td::before { content: none; }
  td.actions { white-space: normal; }
  .pair { grid-template-columns: 1fr; gap: 0; border-bottom: 1px dashed var(--line); margin-bottom: 8px; }
}
`;

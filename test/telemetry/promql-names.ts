// The metric names a PromQL expression reads: what is left once strings, label matchers, ranges,
// grouping clauses, function calls, keywords, numbers and Grafana variables are taken out.
// Enough for the expressions of docs/grafana and docs/prometheus (no subqueries with offsets
// named like metrics, no metric names inside strings).
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\$\{?\w+\}?/g, ' '); // Grafana variables
  const names = new Set<string>();
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(?!\s*\()/g)) {
    const name = m[0];
    const end = m.index + name.length;
    // matchAll's look-ahead is per match: a name cut short before "(" is a function's prefix.
    if (/^[A-Za-z0-9_:]/.test(bare.slice(end))) continue;
    if (KEYWORDS.has(name.toLowerCase())) continue;
    // Numbers like 1e3 and durations are not names; neither is an exponent's letter.
    if (/^\d/.test(bare[m.index - 1] ?? '') || /^[eE]$/.test(name)) continue;
    names.add(name);
  }
  return [...names].sort();
}

/** The `expr:` of every rule in a Prometheus rules file (one-line or `|` block). */
export function ruleExprs(yaml: string): string[] {
  const lines = yaml.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)expr:\s*(.*)$/.exec(lines[i]!);
    if (!m) continue;
    if (m[2] !== '|' && m[2] !== '>') {
      out.push(m[2]!.replace(/^'(.*)'$/, '$1'));
      continue;
    }
    const block: string[] = [];
    const indent = m[1]!.length;
    while (
      i + 1 < lines.length &&
      (lines[i + 1]!.trim() === '' || /^\s*/.exec(lines[i + 1]!)![0].length > indent)
    )
      block.push(lines[++i]!);
    out.push(block.join('\n'));
  }
  return out;
}

/** Every `expr` of a Grafana dashboard's panels (rows' nested panels too). */
export function dashboardExprs(dashboard: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'expr' && typeof x === 'string') out.push(x);
        else walk(x);
      }
    }
  };
  walk(dashboard);
  return out;
}

/** Every series name a Prometheus text exposition offers (histograms' _bucket/_sum/_count too). */
export function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t) {
      names.add(t[1]!);
      if (t[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(t[1]! + s);
      if (t[2] === 'summary') for (const s of ['_sum', '_count']) names.add(t[1]! + s);
      continue;
    }
    const s = /^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/.exec(line);
    if (s) names.add(s[1]!);
  }
  return names;
}
